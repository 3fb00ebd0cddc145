/**
 * kube-system as k3s deploys it from its packaged manifests: CoreDNS, the local-path
 * provisioner, metrics-server, and Traefik (installed by helm-install jobs, exposed through a
 * ServiceLB DaemonSet). They run through the same controllers and kubelet as user workloads.
 */
import type {ClusterApi} from './api.js'
import type {KubeObject} from './contract.js'

const namespace = 'kube-system'

function deployment(name: string, labels: Record<string, string>, container: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {name, namespace, labels: {...labels, 'objectset.rio.cattle.io/hash': 'simulated'}, annotations: {'objectset.rio.cattle.io/id': ''}},
    spec: {
      replicas: 1,
      selector: {matchLabels: labels},
      template: {
        metadata: {labels},
        spec: {
          containers: [container],
          priorityClassName: 'system-cluster-critical',
          tolerations: [
            {key: 'CriticalAddonsOnly', operator: 'Exists'},
            {key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule'},
          ],
          ...extra,
        },
      },
    },
  }
}

function helmInstall(chart: string, helmChartUid: string): KubeObject[] {
  const name = `helm-install-${chart}`
  return [
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace,
        labels: {'helmcharts.helm.cattle.io/chart': chart},
        annotations: {'helmcharts.helm.cattle.io/configHash': 'SHA256=SIMULATED'},
        ownerReferences: [{apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', name: chart, uid: helmChartUid, controller: true, blockOwnerDeletion: true}],
      },
      spec: {
        backoffLimit: 1000,
        template: {
          metadata: {labels: {'helmcharts.helm.cattle.io/chart': chart}},
          spec: {
            restartPolicy: 'OnFailure',
            serviceAccountName: `helm-${chart}`,
            containers: [
              {
                name: 'helm',
                image: 'rancher/klipper-helm:v0.9.3-build20241008',
                args: ['install'],
                env: [
                  {name: 'NAME', value: chart},
                  {name: 'TARGET_NAMESPACE', value: namespace},
                ],
              },
            ],
          },
        },
      },
    },
  ]
}

export function deploySystemWorkloads(api: ClusterApi): void {
  const create = (object: KubeObject): KubeObject | undefined => {
    const type = api.registry.byKind(object.apiVersion, object.kind)
    return type ? api.createInternal(type, object) : undefined
  }
  const dnsLabels = {'k8s-app': 'kube-dns'}
  create(
    deployment('coredns', dnsLabels, {
      name: 'coredns',
      image: 'rancher/mirrored-coredns-coredns:1.12.0',
      args: ['-conf', '/etc/coredns/Corefile'],
      ports: [
        {name: 'dns', containerPort: 53, protocol: 'UDP'},
        {name: 'dns-tcp', containerPort: 53, protocol: 'TCP'},
        {name: 'metrics', containerPort: 9153, protocol: 'TCP'},
      ],
      resources: {requests: {cpu: '100m', memory: '70Mi'}, limits: {memory: '170Mi'}},
      readinessProbe: {httpGet: {path: '/ready', port: 8181}, periodSeconds: 2},
    }),
  )
  create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'kube-dns', namespace, labels: {'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS'}},
    spec: {
      clusterIP: '10.43.0.10',
      selector: dnsLabels,
      ports: [
        {name: 'dns', port: 53, protocol: 'UDP', targetPort: 53},
        {name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53},
        {name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153},
      ],
    },
  })
  create(
    deployment(
      'local-path-provisioner',
      {app: 'local-path-provisioner'},
      {
        name: 'local-path-provisioner',
        image: 'rancher/local-path-provisioner:v0.0.30',
        command: ['local-path-provisioner', 'start', '--config', '/etc/config/config.json'],
      },
    ),
  )
  const metricsLabels = {'k8s-app': 'metrics-server'}
  create(
    deployment('metrics-server', metricsLabels, {
      name: 'metrics-server',
      image: 'rancher/mirrored-metrics-server:v0.7.2',
      ports: [{name: 'https', containerPort: 10250, protocol: 'TCP'}],
      resources: {requests: {cpu: '100m', memory: '70Mi'}},
      readinessProbe: {httpGet: {path: '/readyz', port: 'https'}, periodSeconds: 2},
    }),
  )
  create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'metrics-server', namespace, labels: {'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'Metrics-server'}},
    spec: {selector: metricsLabels, ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: 'https'}]},
  })
  for (const chart of ['traefik-crd', 'traefik']) {
    const helmChart = create({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: {name: chart, namespace},
      spec: {chart: `https://%{KUBERNETES_API}%/static/charts/${chart}-27.0.201+up27.0.2.tgz`},
    })
    for (const job of helmInstall(chart, helmChart?.metadata.uid ?? '')) create(job)
  }
  const traefikLabels = {'app.kubernetes.io/instance': 'traefik-kube-system', 'app.kubernetes.io/name': 'traefik'}
  create(
    deployment('traefik', traefikLabels, {
      name: 'traefik',
      image: 'rancher/mirrored-library-traefik:2.11.18',
      args: ['--entryPoints.web.address=:8000/tcp', '--entryPoints.websecure.address=:8443/tcp'],
      ports: [
        {name: 'web', containerPort: 8000, protocol: 'TCP'},
        {name: 'websecure', containerPort: 8443, protocol: 'TCP'},
      ],
      readinessProbe: {httpGet: {path: '/ping', port: 9000}, initialDelaySeconds: 2, periodSeconds: 10},
    }),
  )
  create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'traefik', namespace, labels: traefikLabels},
    spec: {
      type: 'LoadBalancer',
      selector: traefikLabels,
      ports: [
        {name: 'web', port: 80, protocol: 'TCP', targetPort: 'web'},
        {name: 'websecure', port: 443, protocol: 'TCP', targetPort: 'websecure'},
      ],
    },
  })
  create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {name: 'traefik', annotations: {'ingressclass.kubernetes.io/is-default-class': 'true'}},
    spec: {controller: 'traefik.io/ingress-controller'},
  })
  const svclbLabels = {app: 'svclb-traefik-a3b5d5d2', 'svccontroller.k3s.cattle.io/svcname': 'traefik', 'svccontroller.k3s.cattle.io/svcnamespace': namespace}
  create({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: 'svclb-traefik-a3b5d5d2', namespace, labels: svclbLabels},
    spec: {
      selector: {matchLabels: {app: svclbLabels.app}},
      template: {
        metadata: {labels: svclbLabels},
        spec: {
          containers: [
            {name: 'lb-tcp-80', image: 'rancher/klipper-lb:v0.4.9', ports: [{name: 'lb-tcp-80', containerPort: 80, hostPort: 80, protocol: 'TCP'}]},
            {name: 'lb-tcp-443', image: 'rancher/klipper-lb:v0.4.9', ports: [{name: 'lb-tcp-443', containerPort: 443, hostPort: 443, protocol: 'TCP'}]},
          ],
        },
      },
    },
  })
}

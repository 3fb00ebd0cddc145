import type {ApiFault} from './api-faults.js'

export type {ApiFault}

/**
 * The contract between one simulated cluster's API server (apiserver/) and the docker-host
 * daemon that creates, stops and starts clusters (host/). Both sides code against this file.
 */

/** Simulated time: every scenario duration is multiplied by `factor` (0.01 in tests, 1 for people). */
export interface SimClock {
  factor: number
  /** Resolves after `ms` of simulated time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Wall-clock now (objects carry real timestamps, as kubectl computes ages from them). */
  now(): Date
}

export interface NodeSpec {
  name: string
  /** Kubernetes quantities, e.g. "4" and "8Gi"; pods requesting more stay Pending (FailedScheduling). */
  cpu: string
  memory: string
  role: 'server' | 'agent'
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    creationTimestamp?: string
    deletionTimestamp?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    ownerReferences?: Array<{apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean}>
    [key: string]: unknown
  }
  [key: string]: unknown
}

/** An image in a node's containerd, as `ctr images ls` and the Node's `.status.images` show it. */
export interface NodeImage {
  /** References (`docker.io/library/api:dev-1a2b`) and, for a pulled image, its repository digest. */
  names: string[]
  /** The image's ID (`sha256:` + its config digest): what a container running it reports as imageID. */
  id: string
  sizeBytes: number
}

/** Where the kubelet pulls an image from: the docker host's registries, or (undefined) a public image "the internet" has. */
export interface ImagePuller {
  pull(image: string): {ok: true; image: NodeImage} | {ok: false; message: string} | undefined
}

export interface ApiServerOptions {
  /** Name used for nodes (`k3d-<clusterName>-server-0`) and the kube-system workloads. */
  clusterName: string
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  clock: SimClock
  nodes: NodeSpec[]
  /** Parsed scenario (see scenarios/); undefined = default behaviour for every workload. */
  scenario?: unknown
  /** Create k3s's kube-system workloads (coredns, local-path-provisioner, metrics-server, traefik). */
  k3sSystemWorkloads?: boolean
  /** The k3s version the cluster reports (`/version`, nodes); default v1.31.5+k3s1 (k3d 5.8's default image). */
  kubernetesVersion?: string
  /** The bearer token of the kubeconfig's admin user (k3d's); requests without credentials are admin too. */
  adminToken?: string
  /** Where pulls go; without one every image pulls (a public image of that name). */
  images?: ImagePuller
  /** Objects k3s creates at start from its auto-deploy manifests directory (k3d puts some there). */
  manifests?: KubeObject[]
}

export interface ApiServer {
  readonly url: string
  readonly port: number
  /** The same API over HTTPS (self-signed for 127.0.0.1): Go clients send a user's token only over TLS. */
  readonly secureUrl: string
  /** The serving certificate as a kubeconfig's `certificate-authority-data`. */
  readonly certificateAuthorityData: string
  /** Direct access for fixtures and the daemon; goes through the same store, watches and controllers. */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[]
  /** Close the listener (connection refused) but keep all state: a stopped k3d cluster. */
  stop(): Promise<void>
  /** Listen again on the same port; pods restart as after a reboot. */
  start(): Promise<void>
  /** Stop controllers and free everything: a deleted cluster. */
  close(): Promise<void>
  /** Fault injection: end every open watch connection (clients must re-watch). */
  dropWatches(): void
  /** Fault injection: forget watch history so a resume from an old resourceVersion gets 410 Gone. */
  compactWatchHistory(): void
  /** Fault injection: end every open log stream (followers must resume without loss). */
  dropLogStreams(): void
  setScenario(scenario: unknown): void
  /** A static bearer token for `user` (kube-apiserver's --token-auth-file, or an OIDC login's result); RBAC decides what it may do. */
  addToken(token: string, user: {name: string; uid?: string; groups?: string[]}): void
  /** The token stops authenticating (401), as an expired or revoked credential does. */
  revokeToken(token: string): void
  /** Images put straight into a node's containerd (`k3d image import`: `ctr image import` on the node). */
  importImages(node: string, images: NodeImage[]): void
  /** What a node's containerd holds, as `ctr -n k8s.io images ls` lists it. */
  nodeImages(node: string): NodeImage[]
  /** Fault injection: answer matching requests with a failure, slowly, or with a watch that goes silent. */
  injectApiFault(fault: ApiFault): void
  clearApiFaults(): void
}

export type CreateApiServer = (options: ApiServerOptions) => Promise<ApiServer>

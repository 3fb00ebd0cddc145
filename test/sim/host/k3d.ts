/**
 * The stand-in `k3d` (v5.8.3): the same commands, flags, JSON, log lines (logrus, INFO on
 * stdout and errors on stderr), exit codes and failure modes as the real one, acting on the
 * simulated docker host. Durations run on the simulator's clock.
 */
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {stringify as stringifyYaml} from 'yaml'

import {dockerMemoryBytes, PortAllocatedError, SimCluster, freePort, type K3dNode} from './cluster.js'
import {dockerDaemonDown} from './docker.js'
import {type Invocation, type ToolIO} from './exec.js'
import {nodeImage} from './images.js'
import {commandWords, FlagError, type FlagSpec, parseFlags, type ParsedFlags} from './flags.js'
import type {SimHost} from './host.js'
import {clusterSpecFrom, type ClusterSpec, defaultClusterName, K3dConfigError, k3sVersion, k3dVersion, parseSimpleConfig} from './k3d-config.js'
import {clusterKubeconfig, defaultKubeconfigPath, mergeKubeconfig, readKubeconfig, removeClusterFromKubeconfig, serializeKubeconfig, writeKubeconfig} from './kubeconfig.js'
import {K3dLog} from './logrus.js'
import {tabulate} from './tabwriter.js'

/** Simulated durations of k3d's steps, in ms of scenario time. */
const timing = {toolsNode: 400, serverReady: 5000, agentReady: 3000, loadbalancer: 800, dns: 1500, imageImport: 2500}

const globalFlags: FlagSpec[] = [
  {name: 'verbose', kind: 'bool'},
  {name: 'trace', kind: 'bool'},
  {name: 'timestamps', kind: 'bool'},
  {name: 'version', kind: 'bool'},
  {name: 'help', short: 'h', kind: 'bool'},
]

const createFlags: FlagSpec[] = [
  {name: 'config', short: 'c', kind: 'string'},
  {name: 'api-port', kind: 'string'},
  {name: 'env', short: 'e', kind: 'stringArray'},
  {name: 'volume', short: 'v', kind: 'stringArray'},
  {name: 'port', short: 'p', kind: 'stringArray'},
  {name: 'k3s-node-label', kind: 'stringArray'},
  {name: 'runtime-label', kind: 'stringArray'},
  {name: 'runtime-ulimit', kind: 'stringArray'},
  {name: 'registry-create', kind: 'string'},
  {name: 'host-alias', kind: 'stringArray'},
  {name: 'k3s-arg', kind: 'stringArray'},
  {name: 'servers', short: 's', kind: 'int', default: '0'},
  {name: 'agents', short: 'a', kind: 'int', default: '0'},
  {name: 'image', short: 'i', kind: 'string'},
  {name: 'network', kind: 'string'},
  {name: 'subnet', kind: 'string'},
  {name: 'token', kind: 'string'},
  {name: 'wait', kind: 'bool', default: 'true'},
  {name: 'timeout', kind: 'duration', default: '0s'},
  {name: 'kubeconfig-update-default', kind: 'bool', default: 'true'},
  {name: 'kubeconfig-switch-context', kind: 'bool', default: 'true'},
  {name: 'no-lb', kind: 'bool'},
  {name: 'no-rollback', kind: 'bool'},
  {name: 'gpus', kind: 'string'},
  {name: 'servers-memory', kind: 'string'},
  {name: 'agents-memory', kind: 'string'},
  {name: 'host-pid-mode', kind: 'bool'},
  {name: 'no-image-volume', kind: 'bool'},
  {name: 'registry-use', kind: 'stringArray'},
  {name: 'registry-config', kind: 'string'},
  {name: 'lb-config-override', kind: 'stringSlice'},
]

const commands: Record<string, {flags: FlagSpec[]; aliases?: string[]}> = {
  version: {flags: [{name: 'output', short: 'o', kind: 'string'}]},
  'cluster create': {flags: createFlags},
  'cluster list': {
    flags: [
      {name: 'no-headers', kind: 'bool'},
      {name: 'token', kind: 'bool'},
      {name: 'output', short: 'o', kind: 'string'},
    ],
    aliases: ['ls', 'get'],
  },
  'cluster start': {
    flags: [
      {name: 'all', short: 'a', kind: 'bool'},
      {name: 'wait', kind: 'bool', default: 'true'},
      {name: 'timeout', kind: 'duration', default: '0s'},
    ],
  },
  'cluster stop': {flags: [{name: 'all', short: 'a', kind: 'bool'}]},
  'cluster delete': {
    flags: [
      {name: 'all', short: 'a', kind: 'bool'},
      {name: 'config', short: 'c', kind: 'string'},
    ],
    aliases: ['del', 'rm'],
  },
  'kubeconfig get': {flags: [{name: 'all', short: 'a', kind: 'bool'}], aliases: ['print', 'show']},
  'kubeconfig merge': {
    flags: [
      {name: 'output', short: 'o', kind: 'string'},
      {name: 'kubeconfig-merge-default', short: 'd', kind: 'bool'},
      {name: 'update', short: 'u', kind: 'bool', default: 'true'},
      {name: 'kubeconfig-switch-context', short: 's', kind: 'bool', default: 'true'},
      {name: 'overwrite', kind: 'bool'},
      {name: 'all', short: 'a', kind: 'bool'},
    ],
    aliases: ['write'],
  },
  'image import': {
    flags: [
      {name: 'cluster', short: 'c', kind: 'stringArray', default: defaultClusterName},
      {name: 'keep-tarball', short: 'k', kind: 'bool'},
      {name: 'keep-tools', short: 't', kind: 'bool'},
      {name: 'mode', short: 'm', kind: 'string', default: 'tools-node'},
    ],
  },
}

/** "cluster ls" → "cluster list", as cobra resolves aliases. */
function resolveCommand(words: string[]): string | undefined {
  for (const [path, spec] of Object.entries(commands)) {
    const parts = path.split(' ')
    const given = words.slice(0, parts.length)
    const last = given.at(-1) ?? ''
    if (given.length === parts.length && given.slice(0, -1).join(' ') === parts.slice(0, -1).join(' ') && (last === parts.at(-1) || spec.aliases?.includes(last))) return path
  }
  return undefined
}

const hostnamePattern = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/

class K3dRun {
  readonly log: K3dLog

  constructor(
    readonly host: SimHost,
    readonly io: ToolIO,
    readonly invocation: Invocation,
  ) {
    this.log = new K3dLog(io, invocation.env)
  }

  sleep(ms: number): Promise<void> {
    return this.host.clock.sleep(ms, this.io.abandoned)
  }

  /** k3d's ClusterGet: with docker down it logs the failure and finds nothing. */
  getCluster(name: string): SimCluster | undefined {
    if (!this.host.docker.running) {
      this.log.error(`Failed to get nodes for cluster '${name}': docker failed to get containers with labels 'map[k3d.cluster:${name}]': failed to list containers: ${dockerDaemonDown}`)
      return undefined
    }
    return this.host.clusters.get(name)
  }

  requireCluster(name: string): SimCluster {
    return this.getCluster(name) ?? this.log.fatal('No nodes found for given cluster')
  }

  /** k3d's ClusterList. */
  listClusters(): SimCluster[] {
    if (!this.host.docker.running) this.log.fatal(`runtime failed to list nodes: docker failed to get containers with labels 'map[app:k3d]': failed to list containers: ${dockerDaemonDown}`)
    return [...this.host.clusters.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Clusters named on the command line, all of them with --all, else the default cluster. */
  selectedClusters(flags: ParsedFlags): SimCluster[] {
    if (flags.bool('all')) return this.listClusters()
    const names = flags.args.length > 0 ? flags.args : [defaultClusterName]
    return names.map((n) => this.requireCluster(n))
  }

  kubeconfigPath(): string {
    return defaultKubeconfigPath(this.invocation.env)
  }

  /** Starts the given nodes in k3d's order: servers one by one, then agents, then helpers. */
  async startNodes(cluster: SimCluster): Promise<void> {
    const waiting = (node: K3dNode): boolean => !node.running
    const servers = cluster.nodesWithRole('server').filter(waiting)
    const agents = cluster.nodesWithRole('agent').filter(waiting)
    const helpers = cluster.nodes.filter((n) => (n.role === 'loadbalancer' || n.role === 'registry') && waiting(n))
    const failed = (what: string, node: K3dNode, error: unknown): Error => {
      if (!(error instanceof PortAllocatedError)) throw error
      return new Error(`${what}: runtime failed to start node '${node.name}': docker failed to start container for node '${node.name}': ${error.message}`)
    }
    if (servers.length > 0) {
      this.log.info('Starting servers...')
      for (const node of servers) {
        this.log.info(`Starting node '${node.name}'`)
        try {
          await cluster.startNode(node)
        } catch (error) {
          throw failed(`Failed to start server ${node.name}`, node, error)
        }
        await this.sleep(timing.serverReady)
      }
    } else this.log.info('All servers already running.')
    if (agents.length > 0) {
      this.log.info('Starting agents...')
      for (const node of agents) this.log.info(`Starting node '${node.name}'`)
      for (const node of agents) await cluster.startNode(node).catch((error: unknown) => Promise.reject(failed('Failed to add one or more agents', node, error)))
      await this.sleep(timing.agentReady)
    } else this.log.info('All agents already running.')
    if (helpers.length > 0) {
      this.log.info('Starting helpers...')
      for (const node of helpers) {
        this.log.info(`Starting node '${node.name}'`)
        await cluster.startNode(node).catch((error: unknown) => Promise.reject(failed('Failed to add one or more helper nodes', node, error)))
      }
      await this.sleep(timing.loadbalancer)
    } else this.log.info('All helpers already running.')
    const members = cluster.nodes.filter((n) => n.role !== 'registry').length
    this.log.info(`Injecting records for hostAliases (incl. host.k3d.internal) and for ${members} network members into CoreDNS configmap...`)
    await this.sleep(timing.dns)
  }

  /** k3d's GatherEnvironmentInfo; `cluster create` has its tools node running already. */
  async gatherEnvironment(cluster: SimCluster, toolsNodeRunning: boolean): Promise<void> {
    this.log.info('Using the k3d-tools node to gather environment information')
    if (!toolsNodeRunning) await this.startToolsNode(cluster)
    this.log.info(`HostIP: using network gateway ${this.gateway(cluster)} address`)
  }

  async startToolsNode(cluster: SimCluster): Promise<void> {
    this.log.info('Starting new tools node...')
    this.log.info(`Starting node 'k3d-${cluster.name}-tools'`)
    await this.sleep(timing.toolsNode)
  }

  gateway(cluster: SimCluster): string {
    return `172.${18 + [...this.host.clusters.keys()].indexOf(cluster.name)}.0.1`
  }

  /** k3d's ClusterDelete (also the rollback of a failed create). */
  async deleteCluster(cluster: SimCluster): Promise<void> {
    this.log.info(`Deleting cluster '${cluster.name}'`)
    await cluster.delete()
    this.host.clusters.delete(cluster.name)
    this.log.info(`Deleting cluster network 'k3d-${cluster.name}'`)
    this.log.info('Deleting 1 attached volumes...')
  }

  async create(flags: ParsedFlags): Promise<number> {
    let spec: ClusterSpec
    try {
      const configPath = flags.string('config')
      const config = configPath ? parseSimpleConfig(configPath, await this.readConfig(configPath), this.invocation.env) : undefined
      if (configPath && config) this.log.info(`Using config file ${configPath} (${config.apiVersion.toLowerCase()}#${config.kind.toLowerCase()})`)
      spec = clusterSpecFrom(flags, config)
    } catch (error) {
      if (error instanceof K3dConfigError) this.log.fatal(error.message)
      throw error
    }
    for (const port of spec.ports) {
      if (port.nodeFilters.some((f) => f.startsWith('loadbalancer'))) this.log.info(`portmapping '${port.spec.split('@')[0]}' targets the loadbalancer: defaulting to [servers:*:proxy agents:*:proxy]`)
      else if (port.nodeFilters.length === 0 && spec.servers + spec.agents > 1)
        this.log.info(`portmapping '${port.spec}' lacks a nodefilter, but there's more than one node: defaulting to [servers:*:proxy agents:*:proxy]`)
    }
    if (!hostnamePattern.test(spec.name))
      this.log.fatal(
        `Failed Cluster Configuration Validation:  provided cluster name '${spec.name}' does not match requirements: Invalid cluster name. name ${spec.name} is not a valid hostname as per RFC 1123`,
      )
    if (spec.name.length > 32)
      this.log.fatal(`Failed Cluster Configuration Validation:  provided cluster name '${spec.name}' does not match requirements: Cluster name must be <= 32 characters, but has ${spec.name.length}`)
    for (const [role, limit] of [
      ['servers', spec.serversMemory],
      ['agents', spec.agentsMemory],
    ] as const) {
      if (limit === undefined) continue
      try {
        dockerMemoryBytes(limit)
      } catch (error) {
        this.log.fatal(`Failed Cluster Configuration Validation:  provided ${role} memory limit value is invalid: ${(error as Error).message}`)
      }
    }
    if (this.getCluster(spec.name)) this.log.fatal(`Failed to create cluster '${spec.name}' because a cluster with that name already exists`)

    this.log.info('Prep: Network')
    if (!this.host.docker.running) {
      this.log.error(
        `Failed Cluster Preparation: Failed Network Preparation: failed to create cluster network: failed to check for duplicate docker networks: docker failed to list networks: ${dockerDaemonDown}`,
      )
      this.log.error('Failed to create cluster >>> Rolling Back')
      this.log.info(`Deleting cluster '${spec.name}'`)
      this.getCluster(spec.name)
      this.log.error('failed to get cluster: No nodes found for given cluster')
      return this.log.fatal('Cluster creation FAILED, also FAILED to rollback changes!')
    }
    // k3d picks a free port for a "random" registry port before anything starts (the manifests name it).
    const registry = spec.registry && {...spec.registry, hostPort: spec.registry.hostPort || (await freePort())}
    const cluster = new SimCluster(
      {...spec, registry, apiHostPort: spec.apiHostPort || (await freePort())},
      {
        createApiServer: this.host.options.createApiServer,
        clock: this.host.clock,
        scenario: this.host.scenario,
        hostCpus: this.host.docker.cpus,
        hostMemoryBytes: this.host.docker.memoryBytes,
        externalRegistries: () => this.host.registries,
        localRepositories: this.host.docker.images.localRepositories,
      },
    )
    this.host.clusters.set(spec.name, cluster)
    this.log.info(`Created network 'k3d-${spec.name}'`)
    this.log.info(`Created image volume k3d-${spec.name}-images`)
    // k3d starts its tools node while it creates the node containers.
    this.log.info('Starting new tools node...')
    for (const node of cluster.nodes) {
      if (node.role === 'loadbalancer') this.log.info(`Creating LoadBalancer '${node.name}'`)
      else this.log.info(`Creating node '${node.name}'`)
    }
    try {
      const start = async (): Promise<void> => {
        this.log.info(`Starting node 'k3d-${cluster.name}-tools'`)
        await this.sleep(timing.toolsNode)
        await this.gatherEnvironment(cluster, true)
        this.log.info(`Starting cluster '${spec.name}'`)
        await this.startNodes(cluster)
      }
      if (spec.timeoutMs > 0) await Promise.race([start(), this.sleep(spec.timeoutMs).then(() => Promise.reject(new Error('context deadline exceeded')))])
      else await start()
    } catch (error) {
      if (this.io.abandoned.aborted) throw error
      this.log.error(`Failed Cluster Start: ${(error as Error).message}`)
      if (spec.noRollback) return this.log.fatal('Cluster creation FAILED, rollback deactivated.')
      this.log.error('Failed to create cluster >>> Rolling Back')
      await this.deleteCluster(cluster)
      return this.log.fatal('Cluster creation FAILED, all changes have been rolled back!')
    }
    this.log.info(`Cluster '${spec.name}' created successfully!`)

    let switchContext = spec.switchCurrentContext
    if (!spec.updateDefaultKubeconfig && switchContext) {
      this.log.info('--kubeconfig-update-default=false --> sets --kubeconfig-switch-context=false')
      switchContext = false
    }
    if (spec.updateDefaultKubeconfig) {
      try {
        await this.mergeIntoFile(this.kubeconfigPath(), cluster, {overwrite: true, switchContext})
      } catch (error) {
        this.log.warn((error as Error).message)
      }
    }
    this.log.info('You can now use it like this:')
    if (spec.updateDefaultKubeconfig && !switchContext) this.io.stdout(`kubectl config use-context k3d-${spec.name}\n`)
    else if (!switchContext) this.io.stdout(`export KUBECONFIG=$(k3d kubeconfig write ${spec.name})\n`)
    this.io.stdout('kubectl cluster-info\n')
    return 0
  }

  async readConfig(path: string): Promise<string> {
    if (path === '-') return this.io.readStdin()
    return readFile(resolve(this.invocation.cwd, path), 'utf8').catch((error: NodeJS.ErrnoException) =>
      this.log.fatal(`Failed to stat config file ${path}: stat ${path}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`),
    )
  }

  async mergeIntoFile(path: string, cluster: SimCluster, options: {overwrite: boolean; switchContext: boolean}): Promise<void> {
    const existing = (await readKubeconfig(path)) ?? {}
    await writeKubeconfig(path, mergeKubeconfig(existing, clusterKubeconfig(cluster.name, cluster.server, cluster.userToken), options))
  }

  list(flags: ParsedFlags): number {
    const clusters = flags.args.length > 0 ? flags.args.map((n) => this.requireCluster(n)) : this.listClusters()
    const output = flags.string('output').toLowerCase()
    if (output === 'json' || output === 'yaml') {
      const entries = clusters.map((c) => clusterJson(c, this.gateway(c), flags.bool('token')))
      this.io.stdout(output === 'json' ? `${JSON.stringify(entries)}\n` : `${stringifyYaml(entries)}\n`)
      return 0
    }
    const header = flags.bool('token') ? ['NAME', 'SERVERS', 'AGENTS', 'LOADBALANCER', 'TOKEN'] : ['NAME', 'SERVERS', 'AGENTS', 'LOADBALANCER']
    const rows = clusters.map((c) => {
      const count = (role: 'server' | 'agent'): string => `${c.nodesWithRole(role).filter((n) => n.running).length}/${c.nodesWithRole(role).length}`
      const row = [c.name, count('server'), count('agent'), String(c.nodesWithRole('loadbalancer').length > 0)]
      return flags.bool('token') ? [...row, c.token] : row
    })
    this.io.stdout(tabulate(flags.bool('no-headers') ? rows : [header, ...rows], {minWidth: 6, padding: 3}))
    return 0
  }

  async start(flags: ParsedFlags): Promise<number> {
    const clusters = this.selectedClusters(flags)
    if (clusters.length === 0) this.log.info('No clusters found')
    for (const cluster of clusters) {
      await this.gatherEnvironment(cluster, false)
      this.log.info(`Starting cluster '${cluster.name}'`)
      try {
        await this.startNodes(cluster)
      } catch (error) {
        if (this.io.abandoned.aborted) throw error
        this.log.fatal((error as Error).message)
      }
      this.log.info(`Started cluster '${cluster.name}'`)
    }
    return 0
  }

  async stop(flags: ParsedFlags): Promise<number> {
    const clusters = this.selectedClusters(flags)
    if (clusters.length === 0) this.log.info('No clusters found')
    for (const cluster of clusters) {
      this.log.info(`Stopping cluster '${cluster.name}'`)
      for (const node of cluster.nodes) await cluster.stopNode(node)
      this.log.info(`Stopped cluster '${cluster.name}'`)
    }
    return 0
  }

  async delete(flags: ParsedFlags): Promise<number> {
    let clusters: SimCluster[]
    if (flags.bool('all')) {
      this.log.info('Deleting all clusters...')
      clusters = this.listClusters()
    } else {
      const names = flags.args.length > 0 ? flags.args : [defaultClusterName]
      clusters = names.flatMap((name) => {
        const cluster = this.getCluster(name)
        if (!cluster) this.log.info(`No nodes found for cluster '${name}', nothing to delete.`)
        return cluster ? [cluster] : []
      })
    }
    if (clusters.length === 0) this.log.info('No clusters found')
    for (const cluster of clusters) {
      await this.deleteCluster(cluster)
      this.log.info('Removing cluster details from default kubeconfig...')
      try {
        const path = this.kubeconfigPath()
        const existing = await readKubeconfig(path)
        if (!existing) throw new Error(`stat ${path}: no such file or directory`)
        await writeKubeconfig(path, removeClusterFromKubeconfig(existing, cluster.name))
      } catch (error) {
        this.log.warn('Failed to remove cluster details from default kubeconfig')
        this.log.warn(`failed to get default kubeconfig file: ${(error as Error).message}`)
      }
      this.log.info('Removing standalone kubeconfig file (if there is one)...')
      this.log.info(`Successfully deleted cluster ${cluster.name}!`)
    }
    return 0
  }

  kubeconfigGet(flags: ParsedFlags): number {
    if ((flags.args.length === 0 && !flags.bool('all')) || (flags.args.length > 0 && flags.bool('all'))) {
      this.io.stderr('Error: Need to specify one or more cluster names *or* set `--all` flag\nUsage:\n  k3d kubeconfig get [CLUSTER [CLUSTER [...]] | --all] [flags]\n\n')
      return 1
    }
    for (const cluster of this.selectedClusters(flags)) {
      this.io.stdout(`---\n${serializeKubeconfig(clusterKubeconfig(cluster.name, cluster.server, cluster.userToken))}`)
    }
    return 0
  }

  async kubeconfigMerge(flags: ParsedFlags): Promise<number> {
    if (flags.bool('kubeconfig-merge-default') && flags.string('output')) this.log.fatal("Cannot use both '--output' and '--kubeconfig-merge-default' at the same time")
    const clusters = this.selectedClusters(flags)
    const outputs: string[] = []
    let failed = false
    for (const cluster of clusters) {
      const output = flags.string('output') || (flags.bool('kubeconfig-merge-default') ? '' : join(this.invocation.env.HOME ?? '/root', '.config', 'k3d', `kubeconfig-${cluster.name}.yaml`))
      try {
        const path = output === '' ? this.kubeconfigPath() : output === '-' ? '-' : resolve(this.invocation.cwd, output)
        if (path === '-') this.io.stdout(serializeKubeconfig(clusterKubeconfig(cluster.name, cluster.server, cluster.userToken)))
        else if (flags.bool('overwrite')) await writeKubeconfig(path, clusterKubeconfig(cluster.name, cluster.server, cluster.userToken))
        else await this.mergeIntoFile(path, cluster, {overwrite: flags.bool('update'), switchContext: flags.bool('kubeconfig-switch-context')})
        outputs.push(path)
      } catch (error) {
        this.log.error((error as Error).message)
        failed = true
      }
    }
    if (flags.string('output') !== '-') this.io.stdout(`${outputs.join(':')}\n`)
    return failed ? 1 : 0
  }

  /**
   * `k3d image import`: the images from docker's store into every server and agent node's
   * containerd (tools-node mode by default, `--mode direct` streams them). A node's failed
   * `ctr image import` is only logged, and k3d still reports success (k3d #1484).
   */
  async imageImport(flags: ParsedFlags): Promise<number> {
    if (flags.args.length === 0) {
      this.io.stderr('Error: requires at least 1 arg(s), only received 0\nUsage:\n  k3d image import [IMAGE | ARCHIVE [IMAGE | ARCHIVE...]] [flags]\n\n')
      return 1
    }
    const mode = flags.string('mode')
    if (!['auto', 'direct', 'tools-node'].includes(mode)) this.log.fatal(`Unknown image loading mode '${mode}'`)
    const clusters = flags.strings('cluster').map((name) => this.getCluster(name) ?? this.log.fatal(`failed to get cluster ${name}: No nodes found for given cluster`))
    let failed = false
    for (const cluster of clusters) {
      this.log.info(`Importing image(s) into cluster '${cluster.name}'`)
      const found = flags.args.flatMap((requested) => {
        // k3d's findImages: as given, with :latest added, or without docker.io/ and library/.
        const image = this.host.docker.images.get(requested) ?? this.host.docker.images.get(requested.replace(/^docker\.io\//, '').replace(/^library\//, ''))
        if (!image) this.log.warn(`Image '${requested}' is not a file and couldn't be found in the container runtime`)
        return image ? [{ref: requested, image}] : []
      })
      if (found.length === 0) {
        this.log.error(`Failed to import image(s) into cluster '${cluster.name}': no valid images specified`)
        failed = true
        continue
      }
      const nodes = cluster.nodes.filter((n) => n.role === 'server' || n.role === 'agent')
      const importInto = (node: K3dNode) => {
        if (this.host.failingImports.has(cluster.name)) {
          this.log.error(`failed to import images in node '${node.name}': Exec process in node '${node.name}' failed with exit code '1'`)
          return
        }
        cluster.api?.importImages(
          node.name,
          found.map(({ref, image}) => nodeImage(ref, image)),
        )
      }
      if (mode === 'direct') {
        this.log.info(`Loading ${found.length} image(s) from runtime into nodes...`)
        await this.sleep(timing.imageImport / 2)
        for (const node of nodes) {
          this.log.info(`Importing images '[${found.map((f) => f.ref).join(' ')}]' into node '${node.name}'...`)
          importInto(node)
        }
      } else {
        this.log.info('Starting new tools node...')
        this.log.info(`Starting node 'k3d-${cluster.name}-tools'`)
        await this.sleep(timing.toolsNode)
        this.log.info(`Saving ${found.length} image(s) from runtime...`)
        await this.sleep(timing.imageImport)
        this.log.info('Importing images into nodes...')
        const tarball = `/k3d/images/k3d-${cluster.name}-images-${new Date().toISOString().replaceAll(/\D/g, '').slice(0, 14)}.tar`
        for (const node of nodes) {
          this.log.info(`Importing images from tarball '${tarball}' into node '${node.name}'...`)
          importInto(node)
        }
        if (!flags.bool('keep-tarball')) this.log.info('Removing the tarball(s) from image volume...')
        if (!flags.bool('keep-tools')) this.log.info('Removing k3d-tools node...')
      }
      this.log.info('Successfully imported image(s)')
    }
    if (failed) {
      this.log.warn('At least one error occurred while trying to import the image(s) into the selected cluster(s)')
      return 1
    }
    this.log.info(`Successfully imported ${flags.args.length} image(s) into ${clusters.length} cluster(s)`)
    return 0
  }
}

/** `k3d cluster list -o json`: k3d's Cluster struct plus the counts PrintClusters adds. */
function clusterJson(cluster: SimCluster, gateway: string, withToken: boolean): object {
  const subnet = gateway.replace(/\.1$/, '.0/16')
  const nodes = cluster.nodes.map((node, i) => {
    const portMappings = Object.fromEntries(node.ports.map((p) => [`${p.containerPort}/${p.protocol}`, [{HostIp: p.hostIP, HostPort: String(p.hostPort)}]]))
    const isK3s = node.role === 'server' || node.role === 'agent'
    return {
      name: node.name,
      role: node.role,
      image: node.image,
      volumes: isK3s ? [`k3d-${cluster.name}-images:/k3d/images`] : [],
      env: isK3s ? [`K3S_TOKEN=${cluster.token}`, ...(node.role === 'agent' ? [`K3S_URL=https://k3d-${cluster.name}-server-0:6443`] : [])] : [],
      Cmd: null,
      extraArgs: [],
      portMappings,
      restart: true,
      created: node.createdAt.toISOString(),
      runtimeLabels: {...node.labels, app: 'k3d', 'k3d.cluster': cluster.name, 'k3d.role': node.role, 'k3d.version': k3dVersion},
      Networks: [`k3d-${cluster.name}`],
      ExtraHosts: null,
      serverOpts: node.role === 'server' ? {kubeAPI: apiExposure(cluster)} : {kubeAPI: null},
      agentOpts: {},
      GPURequest: '',
      Memory: '',
      State: {Running: node.running, Status: node.running ? 'running' : 'exited', Started: ''},
      IP: {IP: gateway.replace(/\.1$/, `.${i + 2}`), Static: false},
      K3dEntrypoint: isK3s,
    }
  })
  const count = (role: string, running: boolean): number => cluster.nodes.filter((n) => n.role === role && (!running || n.running)).length
  const loadbalancer = nodes.find((n) => n.role === 'loadbalancer')
  return {
    name: cluster.name,
    network: {name: `k3d-${cluster.name}`, id: cluster.networkId, ipam: {ipPrefix: subnet, ipsUsed: [gateway], Managed: false}, Members: null},
    ...(withToken ? {clusterToken: cluster.token} : {}),
    nodes,
    InitNode: null,
    kubeAPI: apiExposure(cluster),
    ...(loadbalancer ? {serverLoadBalancer: {...loadbalancer, config: {ports: {'6443.tcp': cluster.nodesWithRole('server').map((n) => n.name)}, settings: {workerConnections: 1024}}}} : {}),
    imageVolume: `k3d-${cluster.name}-images`,
    volumes: [`k3d-${cluster.name}-images`],
    serversRunning: count('server', true),
    serversCount: count('server', false),
    agentsRunning: count('agent', true),
    agentsCount: count('agent', false),
    ...(loadbalancer ? {hasLoadbalancer: true} : {}),
  }
}

function apiExposure(cluster: SimCluster): object {
  return {Port: '6443/tcp', Binding: {HostIp: cluster.spec.apiHostIP, HostPort: String(cluster.apiPort)}, host: cluster.spec.apiHostIP}
}

export async function runK3d(invocation: Invocation, io: ToolIO, host: SimHost): Promise<number> {
  const run = new K3dRun(host, io, invocation)
  const words = commandWords(invocation.argv, globalFlags, 2)
  const path = words[0] === 'version' ? 'version' : resolveCommand(words)
  if (!path) {
    if (invocation.argv.includes('--version')) {
      io.stdout(`k3d version ${k3dVersion}\nk3s version ${k3sVersion} (default)\n`)
      return 0
    }
    io.stderr(`Error: unknown command "${words.join(' ')}" for "k3d"\nRun 'k3d --help' for usage.\n`)
    return 1
  }
  let flags: ParsedFlags
  try {
    flags = parseFlags(invocation.argv, [...globalFlags, ...(commands[path]?.flags ?? [])]).withoutLeadingArgs(path.split(' ').length)
  } catch (error) {
    if (!(error instanceof FlagError)) throw error
    io.stderr(`Error: ${error.message}\nUsage:\n  k3d ${path} [flags]\n\n`)
    return 1
  }
  switch (path) {
    case 'version':
      if (flags.string('output') === 'json') io.stdout(`${JSON.stringify({k3d: k3dVersion, k3s: k3sVersion})}\n`)
      else io.stdout(`k3d version ${k3dVersion}\nk3s version ${k3sVersion} (default)\n`)
      return 0
    case 'cluster create':
      if (flags.args.length > 1) {
        io.stderr(`Error: accepts between 0 and 1 arg(s), received ${flags.args.length}\nUsage:\n  k3d cluster create NAME [flags]\n\n`)
        return 1
      }
      return run.create(flags)
    case 'cluster list':
      return run.list(flags)
    case 'cluster start':
      return run.start(flags)
    case 'cluster stop':
      return run.stop(flags)
    case 'cluster delete':
      return run.delete(flags)
    case 'kubeconfig get':
      return run.kubeconfigGet(flags)
    case 'kubeconfig merge':
      return run.kubeconfigMerge(flags)
    default:
      return run.imageImport(flags)
  }
}

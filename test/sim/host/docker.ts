/**
 * The stand-in `docker` CLI (Docker 28.5 with buildx): `version`, `info` and `ps`, with the real
 * layouts and the real failure when the daemon is not running (k3d's node containers show up in
 * `ps`); `build` (see docker-build.ts), `image inspect`, `images`, `tag` and `push` on the
 * host's content-addressed image store and registries; `exec NODE ctr -n k8s.io images ls` on a
 * k3d node.
 */
import type {NodeImage, SimClock} from '../apiserver/contract.js'
import {dockerBuild} from './docker-build.js'
import {type Invocation, type ToolIO} from './exec.js'
import {familiarName, type ImageStore, parseReference, type SimImage, type SimRegistry} from './images.js'
import {FlagError, type FlagSpec, type ParsedFlags, parseFlags} from './flags.js'
import {renderGoTemplate, TemplateError} from './gotemplate.js'
import {tabulate} from './tabwriter.js'

export const dockerDaemonDown = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'

export interface Container {
  id: string
  name: string
  image: string
  command: string
  createdAt: Date
  running: boolean
  /** e.g. "0.0.0.0:6550->6443/tcp" */
  ports: string[]
  labels: Record<string, string>
}

export interface DockerState {
  running: boolean
  memoryBytes: number
  cpus: number
  containers(): Container[]
  images: ImageStore
  /** BuildKit's cache: step keys it has results for, base images it resolved. */
  buildCache: Set<string>
  /** No network: nothing outside this machine answers. */
  offline: boolean
  /** The registry a reference's host names, as seen from this machine (a k3d cluster's, or a team's). */
  registry(host: string): SimRegistry | undefined
  /** containerd's images on a k3d node, by its container name; undefined for any other container. */
  nodeImages(container: string): NodeImage[] | undefined
}

const client = {
  Platform: {Name: 'Docker Engine - Community'},
  Version: '28.5.2',
  ApiVersion: '1.51',
  DefaultAPIVersion: '1.51',
  GitCommit: 'ecc6942',
  GoVersion: 'go1.24.8',
  Os: 'linux',
  Arch: 'amd64',
  BuildTime: 'Wed Nov  5 14:43:30 2025',
  Context: 'default',
}

const engine = {
  Version: '28.5.2',
  ApiVersion: '1.51',
  MinAPIVersion: '1.24',
  GitCommit: '89c5e8f',
  GoVersion: 'go1.24.8',
  Os: 'linux',
  Arch: 'amd64',
  KernelVersion: '6.1.0-40-amd64',
  BuildTime: '2025-11-05T14:43:30.000000000+00:00',
}

function serverVersion(): object {
  return {
    Platform: {Name: 'Docker Engine - Community'},
    Components: [
      {
        Name: 'Engine',
        Version: engine.Version,
        Details: {
          ApiVersion: engine.ApiVersion,
          Arch: engine.Arch,
          BuildTime: client.BuildTime,
          Experimental: 'false',
          GitCommit: engine.GitCommit,
          GoVersion: engine.GoVersion,
          KernelVersion: engine.KernelVersion,
          MinAPIVersion: engine.MinAPIVersion,
          Os: engine.Os,
        },
      },
      {Name: 'containerd', Version: 'v1.7.28', Details: {GitCommit: 'b98a3aace656320842a23f4a392a33f46af97866'}},
      {Name: 'runc', Version: '1.3.0', Details: {GitCommit: 'v1.3.0-0-g4ca628d1'}},
      {Name: 'docker-init', Version: '0.19.0', Details: {GitCommit: 'de40ad0'}},
    ],
    ...engine,
  }
}

// docker prints "Key:<TAB>value" lines through tabwriter(minwidth 20, padding 1); a line
// without a tab ends the aligned block.
function alignedBlock(lines: string[]): string {
  const out: string[] = []
  let block: string[] = []
  const flushBlock = (): void => {
    const width = Math.max(20, ...block.map((l) => l.indexOf('\t') + 1))
    out.push(...block.map((l) => l.slice(0, l.indexOf('\t')).padEnd(width) + l.slice(l.indexOf('\t') + 1)))
    block = []
  }
  for (const line of lines) {
    if (line.includes('\t')) block.push(line)
    else {
      flushBlock()
      out.push(line)
    }
  }
  flushBlock()
  return out.join('\n')
}

function clientSectionLines(): string[] {
  return [
    `Client: ${client.Platform.Name}`,
    ` Version:\t${client.Version}`,
    ` API version:\t${client.ApiVersion}`,
    ` Go version:\t${client.GoVersion}`,
    ` Git commit:\t${client.GitCommit}`,
    ` Built:\t${client.BuildTime}`,
    ` OS/Arch:\t${client.Os}/${client.Arch}`,
    ` Context:\t${client.Context}`,
  ]
}

function serverSectionLines(): string[] {
  return [
    '',
    `Server: ${client.Platform.Name}`,
    ' Engine:',
    `  Version:\t${engine.Version}`,
    `  API version:\t${engine.ApiVersion} (minimum version ${engine.MinAPIVersion})`,
    `  Go version:\t${engine.GoVersion}`,
    `  Git commit:\t${engine.GitCommit}`,
    `  Built:\t${client.BuildTime}`,
    `  OS/Arch:\t${engine.Os}/${engine.Arch}`,
    '  Experimental:\tfalse',
    ' containerd:',
    '  Version:\tv1.7.28',
    '  GitCommit:\tb98a3aace656320842a23f4a392a33f46af97866',
    ' runc:',
    '  Version:\t1.3.0',
    '  GitCommit:\tv1.3.0-0-g4ca628d1',
    ' docker-init:',
    '  Version:\t0.19.0',
    '  GitCommit:\tde40ad0',
  ]
}

function systemInfo(state: DockerState) {
  const containers = state.containers()
  const running = containers.filter((c) => c.running).length
  return {
    ID: 'b1d5f3a2-7c4e-4e8a-9d61-2f0c8e5a9b37',
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: new Set(containers.map((c) => c.image)).size,
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ],
    Plugins: {
      Volume: ['local'],
      Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'],
      Authorization: null,
      Log: ['awslogs', 'fluentd', 'gcplogs', 'gelf', 'journald', 'json-file', 'local', 'splunk', 'syslog'],
    },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 28,
    OomKillDisable: false,
    NGoroutines: 45,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'systemd',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: engine.KernelVersion,
    OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
    OSVersion: '12',
    OSType: 'linux',
    Architecture: 'x86_64',
    IndexServerAddress: 'https://index.docker.io/v1/',
    NCPU: state.cpus,
    MemTotal: state.memoryBytes,
    DockerRootDir: '/var/lib/docker',
    Name: 'devctl-sim',
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: engine.Version,
    Runtimes: {'io.containerd.runc.v2': {path: 'runc'}, runc: {path: 'runc'}},
    DefaultRuntime: 'runc',
    Swarm: {NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null},
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: 'docker-init',
    ContainerdCommit: {ID: 'b98a3aace656320842a23f4a392a33f46af97866'},
    RuncCommit: {ID: 'v1.3.0-0-g4ca628d1'},
    InitCommit: {ID: 'de40ad0'},
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
    Warnings: null,
  }
}

const clientInfo = {
  Debug: false,
  Version: client.Version,
  GitCommit: client.GitCommit,
  GoVersion: client.GoVersion,
  Os: client.Os,
  Arch: client.Arch,
  BuildTime: client.BuildTime,
  Context: client.Context,
  Plugins: [],
  Warnings: null,
}

/** go-units BytesSize: binary units with up to 4 significant digits ("15.58GiB"). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${Number(value.toPrecision(4))}${units[unit]}`
}

function prettyInfo(state: DockerState): string {
  const info = systemInfo(state)
  return [
    ` Containers: ${info.Containers}`,
    `  Running: ${info.ContainersRunning}`,
    '  Paused: 0',
    `  Stopped: ${info.ContainersStopped}`,
    ` Images: ${info.Images}`,
    ` Server Version: ${engine.Version}`,
    ' Storage Driver: overlay2',
    '  Backing Filesystem: extfs',
    '  Supports d_type: true',
    '  Using metacopy: false',
    '  Native Overlay Diff: true',
    '  userxattr: false',
    ' Logging Driver: json-file',
    ' Cgroup Driver: systemd',
    ' Cgroup Version: 2',
    ' Plugins:',
    '  Volume: local',
    '  Network: bridge host ipvlan macvlan null overlay',
    '  Log: awslogs fluentd gcplogs gelf journald json-file local splunk syslog',
    ' Swarm: inactive',
    ' Runtimes: io.containerd.runc.v2 runc',
    ' Default Runtime: runc',
    ' Init Binary: docker-init',
    ` containerd version: b98a3aace656320842a23f4a392a33f46af97866`,
    ' runc version: v1.3.0-0-g4ca628d1',
    ' init version: de40ad0',
    ' Security Options:',
    '  seccomp',
    '   Profile: builtin',
    '  cgroupns',
    ` Kernel Version: ${engine.KernelVersion}`,
    ' Operating System: Debian GNU/Linux 12 (bookworm)',
    ' OSType: linux',
    ' Architecture: x86_64',
    ` CPUs: ${state.cpus}`,
    ` Total Memory: ${bytesSize(state.memoryBytes)}`,
    ' Name: devctl-sim',
    ` ID: ${info.ID}`,
    ' Docker Root Dir: /var/lib/docker',
    ' Debug Mode: false',
    ' Experimental: false',
    ' Insecure Registries:',
    '  ::1/128',
    '  127.0.0.0/8',
    ' Live Restore Enabled: false',
    '',
  ].join('\n')
}

/** go-units HumanDuration, as `docker ps` shows ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < 1) return 'Less than a second'
  if (seconds === 1) return '1 second'
  if (seconds < 60) return `${seconds} seconds`
  const minutes = Math.floor(seconds / 60)
  if (minutes === 1) return 'About a minute'
  if (minutes < 60) return `${minutes} minutes`
  const hours = Math.round(seconds / 3600)
  if (hours === 1) return 'About an hour'
  if (hours < 48) return `${hours} hours`
  return `${Math.floor(hours / 24)} days`
}

const globalFlags: FlagSpec[] = [
  {name: 'config', kind: 'string'},
  {name: 'context', short: 'c', kind: 'string'},
  {name: 'debug', short: 'D', kind: 'bool'},
  {name: 'host', short: 'H', kind: 'stringArray'},
  {name: 'log-level', short: 'l', kind: 'string'},
]

const buildFlags: FlagSpec[] = [
  {name: 'tag', short: 't', kind: 'stringArray'},
  {name: 'file', short: 'f', kind: 'string'},
  {name: 'target', kind: 'string'},
  {name: 'build-arg', kind: 'stringArray'},
  {name: 'iidfile', kind: 'string'},
  {name: 'progress', kind: 'string', default: 'auto'},
  {name: 'no-cache', kind: 'bool'},
  {name: 'label', kind: 'stringArray'},
  {name: 'platform', kind: 'stringArray'},
  {name: 'pull', kind: 'bool'},
  {name: 'load', kind: 'bool'},
]

const commandFlags: Record<string, FlagSpec[]> = {
  version: [{name: 'format', short: 'f', kind: 'string'}],
  build: buildFlags,
  'buildx build': buildFlags,
  'buildx version': [],
  'image inspect': [{name: 'format', short: 'f', kind: 'string'}],
  'image ls': [
    {name: 'format', kind: 'string'},
    {name: 'quiet', short: 'q', kind: 'bool'},
    {name: 'all', short: 'a', kind: 'bool'},
  ],
  images: [
    {name: 'format', kind: 'string'},
    {name: 'quiet', short: 'q', kind: 'bool'},
    {name: 'all', short: 'a', kind: 'bool'},
  ],
  tag: [],
  push: [
    {name: 'quiet', short: 'q', kind: 'bool'},
    {name: 'all-tags', short: 'a', kind: 'bool'},
  ],
  info: [{name: 'format', short: 'f', kind: 'string'}],
  ps: [
    {name: 'all', short: 'a', kind: 'bool'},
    {name: 'quiet', short: 'q', kind: 'bool'},
    {name: 'no-trunc', kind: 'bool'},
    {name: 'format', kind: 'string'},
    {name: 'filter', short: 'f', kind: 'stringArray'},
  ],
}

function formatWith(io: ToolIO, template: string, data: unknown): number {
  try {
    io.stdout(`${renderGoTemplate(template === 'json' ? '{{json .}}' : template, data)}\n`)
    return 0
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error
    io.stderr(`template parsing error: ${error.message}\n`)
    return 64
  }
}

function version(io: ToolIO, state: DockerState, format: string): number {
  if (format) {
    const server = state.running ? serverVersion() : null
    const code = formatWith(io, format, {Client: client, Server: server})
    if (!state.running) io.stderr(`${dockerDaemonDown}\n`)
    return state.running ? code : 1
  }
  if (!state.running) {
    io.stdout(`${alignedBlock(clientSectionLines())}\n`)
    io.stderr(`${dockerDaemonDown}\n`)
    return 1
  }
  io.stdout(`${alignedBlock([...clientSectionLines(), ...serverSectionLines()])}\n`)
  return 0
}

function info(io: ToolIO, state: DockerState, format: string): number {
  if (format) {
    if (!state.running) {
      io.stderr(`${dockerDaemonDown}\n`)
      io.stdout('\n')
      return 1
    }
    return formatWith(io, format, {...systemInfo(state), ClientInfo: clientInfo})
  }
  io.stdout(`Client: ${client.Platform.Name}\n Version:    ${client.Version}\n Context:    default\n Debug Mode: false\n\nServer:\n`)
  if (!state.running) {
    io.stderr(`${dockerDaemonDown}\n`)
    return 1
  }
  io.stdout(prettyInfo(state))
  return 0
}

function ps(io: ToolIO, state: DockerState, all: boolean, quiet: boolean, format: string): number {
  if (!state.running) {
    io.stderr(`${dockerDaemonDown}\n`)
    return 1
  }
  const now = Date.now()
  const containers = state.containers().filter((c) => all || c.running)
  const rows = containers.map((c) => ({
    ID: c.id.slice(0, 12),
    Image: c.image,
    Command: JSON.stringify(c.command.length > 20 ? `${c.command.slice(0, 19)}…` : c.command),
    CreatedAt: c.createdAt.toISOString(),
    RunningFor: `${humanDuration(now - c.createdAt.getTime())} ago`,
    Status: c.running ? `Up ${humanDuration(now - c.createdAt.getTime())}` : 'Exited (0) Less than a second ago',
    Ports: c.ports.join(', '),
    Names: c.name,
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    State: c.running ? 'running' : 'exited',
  }))
  if (quiet) {
    io.stdout(rows.map((r) => `${r.ID}\n`).join(''))
    return 0
  }
  if (format) {
    for (const row of rows) if (formatWith(io, format, row) !== 0) return 64
    return 0
  }
  const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], ...rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names])]
  io.stdout(tabulate(table, {minWidth: 10, padding: 3}))
  return 0
}

/** The commands with subcommands docker has (`image inspect`, `buildx build`), else the first word. */
function commandPath(argv: string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'))
  const [first = '', second = ''] = words
  return ['image', 'buildx'].includes(first) ? `${first} ${second}`.trim() : first
}

/** `docker image inspect`: the image as the engine API describes it. */
function inspectImage(state: DockerState, image: SimImage): Record<string, unknown> {
  return {
    Id: image.id,
    RepoTags: state.images.tagsOf(image),
    RepoDigests: [],
    Created: image.created,
    Size: image.size,
    Config: image.config,
    Architecture: 'amd64',
    Os: 'linux',
    RootFS: {Type: 'layers', Layers: image.layers.map((layer) => `sha256:${layer}`)},
  }
}

function images(io: ToolIO, state: DockerState, flags: ParsedFlags): number {
  const rows = state.images.list().flatMap((image) => {
    const tags = state.images.tagsOf(image)
    return (tags.length > 0 ? tags : ['<none>:<none>']).map((tag) => {
      const colon = tag.lastIndexOf(':')
      return {
        Repository: tag.slice(0, colon),
        Tag: tag.slice(colon + 1),
        ID: image.id.slice('sha256:'.length, 'sha256:'.length + 12),
        CreatedSince: 'N/A',
        Size: bytesSize(image.size).replace('iB', 'B'),
      }
    })
  })
  if (flags.bool('quiet')) {
    io.stdout(rows.map((r) => `${r.ID}\n`).join(''))
    return 0
  }
  const format = flags.string('format')
  if (format) {
    for (const row of rows) if (formatWith(io, format, row) !== 0) return 64
    return 0
  }
  io.stdout(tabulate([['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], ...rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size])], {minWidth: 10, padding: 3}))
  return 0
}

function inspect(io: ToolIO, state: DockerState, flags: ParsedFlags): number {
  const refs = flags.args.slice(2)
  if (refs.length === 0) {
    io.stderr(`docker: 'docker image inspect' requires at least 1 argument\n\nUsage:  docker image inspect [OPTIONS] IMAGE [IMAGE...]\n\nSee 'docker image inspect --help' for more information\n`)
    return 1
  }
  const found: Array<Record<string, unknown>> = []
  let missing = false
  for (const ref of refs) {
    const image = state.images.get(ref)
    if (image) found.push(inspectImage(state, image))
    else {
      io.stderr(`Error response from daemon: No such image: ${ref.includes(':') || /^(sha256:)?[a-f0-9]{12,}$/.test(ref) ? ref : `${ref}:latest`}\n`)
      missing = true
    }
  }
  const format = flags.string('format')
  if (format) {
    for (const entry of found) if (formatWith(io, format, entry) !== 0) return 64
  } else io.stdout(`${JSON.stringify(found, null, 4)}\n`)
  return missing ? 1 : 0
}

const reference = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/

function tag(io: ToolIO, state: DockerState, flags: ParsedFlags): number {
  const [source, target] = flags.args.slice(1)
  if (!source || !target || flags.args.length !== 3) {
    io.stderr(`docker: 'docker tag' requires 2 arguments\n\nUsage:  docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nSee 'docker tag --help' for more information\n`)
    return 1
  }
  if (!reference.test(target)) {
    io.stderr(`Error parsing reference: "${target}" is not a valid repository/tag: invalid reference format\n`)
    return 1
  }
  const image = state.images.get(source)
  if (!image) {
    io.stderr(`Error response from daemon: No such image: ${source}\n`)
    return 1
  }
  state.images.tag(target, image, true)
  return 0
}

/** `docker push`: the layers the registry lacks, then the manifest under the tag. */
async function push(io: ToolIO, state: DockerState, flags: ParsedFlags): Promise<number> {
  const [ref] = flags.args.slice(1)
  if (!ref || flags.args.length !== 2) {
    io.stderr(`docker: 'docker push' requires 1 argument\n\nUsage:  docker push [OPTIONS] NAME[:TAG]\n\nSee 'docker push --help' for more information\n`)
    return 1
  }
  const parsed = parseReference(ref)
  const repository = familiarName(ref).replace(/:[^:/]+$/, '')
  io.stdout(`The push refers to repository [${parsed.registry === 'docker.io' ? `docker.io/${parsed.repository}` : repository}]\n`)
  const image = state.images.get(ref)
  if (!image) {
    io.stderr(`An image does not exist locally with the tag: ${repository}\n`)
    return 1
  }
  const registry = state.offline ? undefined : state.registry(parsed.registry)
  if (!registry) {
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+)(:|$)/.test(parsed.registry)
    const host = parsed.registry === 'docker.io' ? 'registry-1.docker.io' : parsed.registry
    const [name, port = loopback ? '80' : '443'] = host.split(':')
    io.stderr(
      parsed.registry === 'docker.io' && !state.offline
        ? 'denied: requested access to the resource is denied\n'
        : loopback
          ? `Get "http://${host}/v2/": dial tcp ${name === 'localhost' ? '127.0.0.1' : name}:${port}: connect: connection refused\n`
          : `Get "https://${host}/v2/": dial tcp: lookup ${name} on 127.0.0.53:53: no such host\n`,
    )
    return 1
  }
  const present = new Set(registry.tags(parsed.repository).flatMap((t) => registry.get(parsed.repository, t)?.image.layers ?? []))
  for (const layer of image.layers) io.stdout(`${layer.slice(0, 12)}: Preparing\n`)
  for (const layer of image.layers) io.stdout(`${layer.slice(0, 12)}: ${present.has(layer) ? 'Layer already exists' : 'Pushed'}\n`)
  const manifest = registry.put(parsed.repository, parsed.tag, image)
  io.stdout(`${parsed.tag}: digest: ${manifest.digest} size: ${528 + 106 * image.layers.length}\n`)
  return 0
}

/** `docker exec NODE ctr -n k8s.io images ls [-q]`: what containerd on a k3d node holds; nothing else runs. */
function exec(io: ToolIO, state: DockerState, argv: string[]): number {
  const rest = argv.slice(argv.indexOf('exec') + 1)
  // docker exec's own flags come before the container; everything after it is the command.
  while (rest[0]?.startsWith('-')) {
    const flag = rest.shift()!
    if (['-u', '--user', '-e', '--env', '-w', '--workdir'].includes(flag)) rest.shift()
  }
  const [container, ...command] = rest
  if (!container || command.length === 0) {
    io.stderr(`docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n`)
    return 1
  }
  const found = state.containers().find((c) => c.name === container || c.id.startsWith(container))
  if (!found) {
    io.stderr(`Error response from daemon: No such container: ${container}\n`)
    return 1
  }
  if (!found.running) {
    io.stderr(`Error response from daemon: container ${found.id} is not running\n`)
    return 1
  }
  const images = state.nodeImages(found.name)
  const words = command.filter((word) => word !== '-n' && word !== 'k8s.io' && word !== '--namespace' && word !== '-n=k8s.io' && word !== '--namespace=k8s.io')
  if (images && words[0] === 'ctr' && ['images', 'image', 'i'].includes(words[1] ?? '') && ['ls', 'list'].includes(words[2] ?? '')) {
    const names = images.flatMap((image) => image.names.map((name) => ({name, image})))
    if (words.includes('-q') || words.includes('--quiet')) io.stdout(names.map(({name}) => `${name}\n`).join(''))
    else {
      const rows = names.map(({name, image}) => [name, 'application/vnd.docker.distribution.manifest.v2+json', image.id, bytesSize(image.sizeBytes), 'linux/amd64', 'io.cri-containerd.image=managed'])
      io.stdout(tabulate([['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS', 'LABELS'], ...rows], {minWidth: 1, padding: 1}))
    }
    return 0
  }
  io.stderr(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${command[0]}": executable file not found in $PATH: unknown\n`)
  return 127
}

export async function runDocker(invocation: Invocation, io: ToolIO, state: DockerState, clock: SimClock): Promise<number> {
  const command = commandPath(invocation.argv)
  if (command === 'exec') {
    if (!state.running) {
      io.stderr(`${dockerDaemonDown}\n`)
      return 1
    }
    return exec(io, state, invocation.argv)
  }
  const flags = commandFlags[command]
  if (!flags) {
    io.stderr(
      command.startsWith('buildx ') || command === 'buildx' ? `ERROR: unknown command: "${command}"\n` : `docker: unknown command: docker ${command}\n\nRun 'docker --help' for more information\n`,
    )
    return 1
  }
  let parsed
  try {
    parsed = parseFlags(invocation.argv, [...globalFlags, ...flags])
  } catch (error) {
    if (!(error instanceof FlagError)) throw error
    io.stderr(`${error.message}\nSee 'docker ${command} --help'.\n`)
    return 125
  }
  switch (command) {
    case 'version':
      return version(io, state, parsed.string('format'))
    case 'info':
      return info(io, state, parsed.string('format'))
    case 'buildx version':
      io.stdout('github.com/docker/buildx v0.29.1 a32761aeb3debd39be1eca514af3693af0db334b\n')
      return 0
  }
  if (!state.running) {
    io.stderr(
      command === 'build' || command === 'buildx build' ? `ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n` : `${dockerDaemonDown}\n`,
    )
    return 1
  }
  switch (command) {
    case 'build':
    case 'buildx build': {
      if (command === 'build' && invocation.env.DOCKER_BUILDKIT === '0') {
        io.stderr('devctl simulator: the legacy builder (DOCKER_BUILDKIT=0) is not simulated; docker 28.5 with buildx builds with BuildKit.\n')
        return 1
      }
      const contexts = parsed.args.slice(command === 'build' ? 1 : 2)
      if (contexts.length !== 1) {
        io.stderr(`ERROR: docker: 'docker buildx build' requires 1 argument\n\nUsage:  docker buildx build [OPTIONS] PATH | URL | -\n\nRun 'docker buildx build --help' for more information\n`)
        return 1
      }
      const tags = parsed.strings('tag')
      const invalid = tags.find((t) => !reference.test(t))
      if (invalid) {
        io.stderr(`ERROR: failed to build: invalid tag "${invalid}": invalid reference format\n`)
        return 1
      }
      return dockerBuild(
        {
          cwd: invocation.cwd,
          context: contexts[0]!,
          dockerfile: parsed.string('file') || undefined,
          tags,
          target: parsed.string('target') || undefined,
          buildArgs: parsed.strings('build-arg'),
          iidfile: parsed.string('iidfile') || undefined,
          noCache: parsed.bool('no-cache'),
        },
        io,
        {images: state.images, cache: state.buildCache, clock, offline: state.offline},
      )
    }
    case 'image inspect':
      return inspect(io, state, parsed)
    case 'image ls':
    case 'images':
      return images(io, state, parsed)
    case 'tag':
      return tag(io, state, parsed)
    case 'push':
      return push(io, state, parsed)
    default:
      return ps(io, state, parsed.bool('all'), parsed.bool('quiet'), parsed.string('format'))
  }
}

/**
 * The schema of devctl.yaml: one source for validation, the TypeScript types and the JSON
 * Schema shipped for editors (scripts/build-schema.mjs). Defaults live here, nowhere else.
 */
import semver from 'semver'
import * as z from 'zod'

import {POSTGRES, REDIS} from '../services/naming.js'
import {DURATION_PATTERN, isWaitableDuration, MAX_DURATION_TEXT} from './duration.js'
import {FACTS, factsUsed, serviceOf, templateProblem} from './template.js'
import {valuePathProblem} from './value-path.js'

export const CONFIG_FILE_NAME = 'devctl.yaml'
export const CONFIG_API_VERSION = 'devctl.dev/v1'

export const DEFAULT_K3S_IMAGE = 'rancher/k3s:v1.31.5-k3s1'
export const DEFAULT_POSTGRES_IMAGE = 'postgres:16.6-alpine'
export const DEFAULT_REDIS_IMAGE = 'redis:7.4.2-alpine'

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    error: 'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  })

const port = z.int().min(1).max(65535)

const duration = z
  .string()
  .regex(DURATION_PATTERN, {error: 'must be a duration such as "90s", "5m" or "1h30m"', abort: true})
  .refine(isWaitableDuration, {error: `must be longer than 0 and at most ${MAX_DURATION_TEXT}`})

const quantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, {error: 'must be a Kubernetes quantity such as "512Mi" or "1Gi"'})

/** An image reference with an explicit version tag or digest: environments must be reproducible. */
const pinnedImage = z
  .string()
  .min(1)
  .refine((image) => /@sha256:[a-f0-9]{64}$/.test(image) || /:[\w][\w.-]*$/.test(image.split('/').pop() ?? ''), {
    error: 'must name a version tag or digest (for example "postgres:16.6-alpine"), so every developer runs the same image',
  })
  .refine((image) => !image.endsWith(':latest'), {error: 'must not use the "latest" tag; pin a version so every developer runs the same image'})

/** Where a port mapping listens by default: this machine only, like the API and the registry. */
export const DEFAULT_HOST_IP = '127.0.0.1'

const portMapping = z.strictObject({
  host: port.describe('Port on your machine.'),
  container: port.describe('Port inside the cluster (80/443 reach the ingress controller).'),
  hostIP: z
    .ipv4({error: 'must be an IPv4 address such as "127.0.0.1" (this machine only) or "0.0.0.0" (every network interface)'})
    .default(DEFAULT_HOST_IP)
    .describe('Address on your machine the port listens on. The default, 127.0.0.1, keeps the app on this machine; "0.0.0.0" exposes it to every network you are on.'),
  nodeFilter: z.string().default('loadbalancer').describe('k3d node filter, e.g. "loadbalancer" or "server:0".'),
})

const k3dCluster = z.strictObject({
  provider: z.literal('k3d'),
  name: dnsLabel.optional().describe('k3d cluster name (default: the project name).'),
  image: pinnedImage.default(DEFAULT_K3S_IMAGE).describe('k3s node image.'),
  servers: z.int().min(1).max(5).default(1),
  agents: z.int().min(0).max(10).default(0),
  apiPort: port.optional().describe('Host port of the Kubernetes API (default: a free port k3d picks, so several projects never collide).'),
  ports: z.array(portMapping).default([]).describe('Host port mappings, e.g. {host: 8080, container: 80}.'),
  registry: z
    .strictObject({
      enabled: z.boolean().default(true),
      port: port.default(5001),
    })
    .optional()
    .describe('A local image registry created with the cluster.'),
})

/** `host[:port][/path]`: a registry and, optionally, a repository prefix in it (no scheme). */
const registryHost = z
  .string()
  .regex(/^[a-zA-Z0-9.-]+(:\d+)?(\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, {error: 'must be a registry such as "registry.example.com", "localhost:5000" or "registry.example.com/team" (no http://)'})

const existingCluster = z.strictObject({
  provider: z.literal('existing'),
  context: z.string().min(1).describe('The kube context to deploy into (kubectl config get-contexts).'),
  registry: z
    .strictObject({
      host: registryHost.describe('Where devctl pushes the images it builds, from this machine: REGISTRY[:PORT][/PREFIX].'),
      hostFromCluster: registryHost.optional().describe("How the cluster's nodes reach the same registry, when that is another address (default: host)."),
    })
    .optional()
    .describe('The registry the cluster pulls the images devctl builds from (needed with build:). Log in to it first (docker login).'),
})

const externalPostgres = z.strictObject({
  host: z.string().min(1),
  port: port.default(5432),
  database: z.string().min(1),
  user: z.string().min(1),
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .describe('Environment variable holding the password (never the password itself).'),
})

const externalRedis = z.strictObject({
  host: z.string().min(1),
  port: port.default(6379),
  passwordEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
})

const snapshots = z.strictObject({
  beforeMigration: z
    .boolean()
    .optional()
    .describe(
      "Take a snapshot of Postgres before `devctl upgrade` lets a migration run, so a failed or rolled-back upgrade can put the data back too. Default: on for the Postgres devctl runs, off for an external one (it is not devctl's).",
    ),
  keep: z.int().min(1).max(100).default(5).describe('How many automatic snapshots to keep (the oldest go first); snapshots you name are never deleted.'),
})

const postgres = z.strictObject({
  enabled: z.boolean().default(true),
  image: pinnedImage.default(DEFAULT_POSTGRES_IMAGE),
  database: z.string().min(1).optional().describe('Database name (default: the project name).'),
  user: z.string().min(1).optional().describe('Database user (default: the project name).'),
  storage: quantity.default('1Gi'),
  auth: z
    .enum(['password', 'trust'])
    .default('password')
    .describe(
      'How the Postgres devctl runs checks clients: "password", or "trust" (any client connects without one, for charts that cannot send it; the generated password is kept and still accepted).',
    ),
  external: externalPostgres.optional().describe('Use this database instead of running one in the cluster.'),
  snapshots: snapshots.prefault({}).describe('Snapshots in .devctl/snapshots (`devctl db snapshot`), and the automatic one before a migration.'),
})

const redis = z.strictObject({
  enabled: z.boolean().default(true),
  image: pinnedImage.default(DEFAULT_REDIS_IMAGE),
  storage: quantity.default('256Mi'),
  auth: z
    .enum(['password', 'none'])
    .default('password')
    .describe('Whether the Redis devctl runs needs a password: "password", or "none" for charts that cannot send one (no password is generated then).'),
  external: externalRedis.optional().describe('Use this Redis instead of running one in the cluster.'),
})

const chartSource = z
  .strictObject({
    path: z.string().min(1).optional().describe('Local chart directory, relative to devctl.yaml.'),
    repo: z
      .url({protocol: /^https?$/})
      .optional()
      .describe('Chart repository URL (with `name`).'),
    name: z.string().min(1).optional().describe('Chart name in the repository.'),
    oci: z
      .string()
      .regex(/^oci:\/\/[^\s]+$/, {error: 'must start with oci://'})
      .optional()
      .describe('OCI chart reference, e.g. oci://ghcr.io/org/charts/app.'),
    plainHttp: z.boolean().optional().describe('With `oci`: the registry speaks plain HTTP, not HTTPS (helm --plain-http), e.g. a registry on localhost.'),
    version: z
      .string()
      .refine((v) => semver.validRange(v) !== null, {error: 'must be a chart version or semver range such as "1.2.3" or "^1.2"'})
      .optional(),
  })
  .superRefine((chart, ctx) => {
    const sources = (['path', 'repo', 'oci'] as const).filter((k) => chart[k] !== undefined)
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `needs exactly one of "path", "repo" or "oci"${sources.length ? ` (found ${sources.join(' and ')})` : ''}`,
      })
    }
    if (chart.repo !== undefined && chart.name === undefined) {
      ctx.addIssue({code: 'custom', path: ['name'], message: 'is required with "repo": the chart\'s name in that repository'})
    }
    if (chart.plainHttp && chart.oci === undefined) {
      ctx.addIssue({code: 'custom', path: ['plainHttp'], message: 'applies only to an "oci" chart (a repository\'s URL says http:// itself)'})
    }
  })

const migration = z
  .union([
    z.enum(['auto', 'none']),
    z.strictObject({job: z.string().min(1).describe('Name of the migration Job (hook or plain).')}),
    z.strictObject({
      initContainer: z
        .string()
        .regex(/^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/, {error: 'must be an init container name, or WORKLOAD/NAME (e.g. "worker/migrate") for one workload\'s'})
        .describe('Name of the migration init container: NAME follows it in every workload that has one, WORKLOAD/NAME (e.g. "worker/migrate" or "demo-worker/migrate") in that workload only.'),
    }),
  ])
  .default('auto')
  .describe('How the chart migrates its database: auto-detected, a named Job, a named init container, or none.')

const secretName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {error: 'must be a Secret name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit'})
  .refine((name) => name !== POSTGRES.secret && name !== REDIS.secret, {error: `must not be the name of devctl's own Secrets (${POSTGRES.secret}, ${REDIS.secret}); charts can read those directly`})

const secretKey = z
  .string()
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, {error: 'must be a Secret key: letters, digits, "-", "_" and "."'})

const FACT_LIST = FACTS.map((f) => `{{${f.name}}}`).join(', ')

const secretTemplate = z
  .string()
  .superRefine((text, ctx) => {
    const problem = templateProblem(text, {secretsAllowed: true})
    if (problem) ctx.addIssue({code: 'custom', message: problem, params: {complete: true}})
  })
  .describe(`The key's content: text with placeholders, e.g. "{{postgres.password}}" or "{{postgres.url}}?sslmode=disable". Placeholders: ${FACT_LIST}; "| urlencode" escapes one.`)

const valueTemplate = z
  .union([
    z.string().superRefine((text, ctx) => {
      const problem = templateProblem(text, {secretsAllowed: false})
      if (problem) ctx.addIssue({code: 'custom', message: problem, params: {complete: true}})
    }),
    z.number(),
    z.boolean(),
  ])
  .describe('A literal, or text with placeholders such as "{{redis.host}}:{{redis.port}}"; exactly one placeholder keeps its type (a port stays a number). Passwords are not allowed here.')

const valuePath = z.string().superRefine((path, ctx) => {
  const problem = valuePathProblem(path)
  if (problem) ctx.addIssue({code: 'custom', message: `is not a value path: ${problem}`})
})

const wiring = z.strictObject({
  secrets: z
    .record(secretName, z.record(secretKey, secretTemplate))
    .default({})
    .describe(
      'Secrets the chart reads, in its own shape: {SECRET_NAME: {KEY: template}}. devctl creates them next to its own before helm runs, and keeps them in step with the generated credentials.',
    ),
  values: z
    .record(valuePath, valueTemplate)
    .default({})
    .describe(
      'Values devctl writes into the first values file and keeps in step with devctl.yaml: {VALUE.PATH: template}. Paths use helm --set syntax (a.b[0].c, a\\.b), plus list[] (append) and list[name=X] (the item named X). `init` writes them; `up` rewrites one that no longer matches, and says so.',
    ),
})

const timeouts = z.strictObject({
  deploy: duration.default('5m').describe('helm upgrade --install, hooks included.'),
  migration: duration.default('5m'),
  rollout: duration.default('5m'),
  cluster: duration.default('3m'),
  hook: duration.default('5m').describe('Each lifecycle hook (a shell command under hooks:); it is stopped, with what it started, when it runs longer.'),
})

const app = z.strictObject({
  chart: chartSource,
  release: dnsLabel.optional().describe('Helm release name (default: the project name).'),
  namespace: dnsLabel.optional().describe('Namespace (default: the project name). With provider "existing" your user name is appended: <namespace>-<user>.'),
  values: z.array(z.string().min(1)).default([]).describe('Values files, relative to devctl.yaml, applied in order.'),
  set: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('--set style overrides.'),
  migration,
  wiring: wiring.prefault({}).describe("How devctl's Postgres and Redis reach a chart that takes them in its own shape: Secrets and composed values."),
  timeouts: timeouts.prefault({}),
  skipSchemaValidation: z
    .boolean()
    .default(false)
    .describe(
      "true: helm does not check the values against the chart's values.schema.json (helm 3.16+, --skip-schema-validation). For a chart whose schema refers to schemas on the internet ($ref: https://...) that helm cannot fetch offline.",
    ),
  breakingVersion: z
    .string()
    .refine((v) => semver.valid(v) !== null, {error: 'must be a chart version such as "2.0.0"'})
    .optional()
    .describe('Upgrading from a chart below this version to one at or above it reinstalls the release (data in Postgres/Redis is kept).'),
})

/** A Docker image name without a tag: `api`, `acme/api`, `ghcr.io/acme/api`, `localhost:5000/api`. */
const imageName = z.string().regex(/^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/, {
  error: 'must be an image name without a tag, such as "api" or "ghcr.io/acme/api" (lowercase letters, digits, ".", "_", "-" and "/"; devctl adds the tag)',
})

/** Where a built image's tag (or repository) goes in the chart's values: "&anchor", or a value path. */
const valueTarget = z.string().superRefine((target, ctx) => {
  if (target.startsWith('&')) {
    if (!/^&[\w.-]+$/.test(target)) ctx.addIssue({code: 'custom', message: `is not an anchor name: write "&" and the anchor's name, e.g. "&imageTag"`})
    return
  }
  const problem = valuePathProblem(target)
  if (problem) ctx.addIssue({code: 'custom', message: `is neither an anchor ("&imageTag") nor a value path: ${problem}`})
})

const buildImage = z.strictObject({
  name: imageName.describe('The image devctl builds, without a tag; it is tagged dev-<digest of its build context>.'),
  context: z.string().min(1).default('.').describe('The build context directory, relative to devctl.yaml; its .dockerignore is honoured.'),
  dockerfile: z.string().min(1).default('Dockerfile').describe('The Dockerfile, relative to the context.'),
  target: z.string().min(1).optional().describe('The stage of a multi-stage Dockerfile to build (docker build --target).'),
  args: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {error: 'must be a build argument name: letters, digits and "_"'}), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('Build arguments (docker build --build-arg NAME=VALUE). Never a secret: they are stored in the image.'),
  tag: valueTarget.describe(
    'Where the chart takes the image tag: "&imageTag" (in quotes: every place in the values files that uses that anchor) or a value path such as image.tag. Passed to helm as an override; your values files are not edited.',
  ),
  repository: valueTarget
    .optional()
    .describe('Where the chart takes the image repository (e.g. image.repository), given the name the cluster pulls it by. Needed when the image goes through a registry.'),
})

const forward = z.strictObject({
  ports: z
    .record(z.string().min(1), port)
    .default({})
    .describe(
      'Local ports for `devctl forward`, by the name it shows: "postgres", "redis", or one of the app\'s Services (SERVICE:PORT for a Service with several ports), e.g. {postgres: 15432, web: 8081}. Others get a free port.',
    ),
})

const hookList = z.array(z.string().min(1)).default([])

const hooks = z.strictObject({
  prerequisites: hookList.describe('Shell commands run before anything else; a failure stops devctl.'),
  beforeDeploy: hookList,
  afterDeploy: hookList,
  validate: hookList.describe('Shell commands that check the running environment.'),
})

export const configSchema = z
  .strictObject({
    apiVersion: z.literal(CONFIG_API_VERSION).describe('Version of this file format.'),
    project: dnsLabel.describe('Project name; the default for the cluster, release and namespace names.'),
    cluster: z.discriminatedUnion('provider', [k3dCluster, existingCluster]).prefault({provider: 'k3d'}),
    services: z
      .strictObject({
        postgres: postgres.prefault({}),
        redis: redis.prefault({}),
      })
      .prefault({}),
    app,
    build: z.array(buildImage).default([]).describe('Images devctl builds from your code before it deploys (`devctl up`, and on every change with `devctl dev`).'),
    forward: forward.prefault({}).describe("`devctl forward` (and `up --forward`): the app's Services, Postgres and Redis on local ports."),
    hooks: hooks.prefault({}),
  })
  .superRefine((config, ctx) => {
    const running = {postgres: config.services.postgres.enabled, redis: config.services.redis.enabled}
    const checkServices = (text: string, path: PropertyKey[]) => {
      for (const fact of factsUsed(text)) {
        const service = serviceOf(fact) as keyof typeof running
        if (running[service] === false) {
          ctx.addIssue({code: 'custom', path, message: `refers to {{${fact}}}, but services.${service}.enabled is false: enable ${service} or remove this entry`, params: {complete: true}})
          return
        }
      }
    }
    for (const [name, keys] of Object.entries(config.app.wiring.secrets)) {
      for (const [key, text] of Object.entries(keys)) checkServices(text, ['app', 'wiring', 'secrets', name, key])
    }
    for (const [path, value] of Object.entries(config.app.wiring.values)) {
      if (typeof value === 'string') checkServices(value, ['app', 'wiring', 'values', path])
    }
    if (Object.keys(config.app.wiring.values).length > 0 && config.app.values.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['app', 'wiring', 'values'],
        message: 'needs a values file to write into: list one under app.values (devctl init writes values.dev.yaml)',
        params: {complete: true},
      })
    }
    checkBuilds(config, ctx)
    const pinned = new Map<number, string>()
    for (const [name, local] of Object.entries(config.forward.ports)) {
      const other = pinned.get(local)
      if (other !== undefined)
        ctx.addIssue({code: 'custom', path: ['forward', 'ports', name], message: `is ${local}, which forward.ports.${other} uses already: give each its own port`, params: {complete: true}})
      pinned.set(local, name)
    }
    const {redis} = config.services
    if (redis.auth === 'none' && redis.external?.passwordEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', 'redis', 'auth'],
        message: 'is "none", but services.redis.external.passwordEnv names a password: auth applies to the Redis devctl runs; for an external one, leave out passwordEnv',
        params: {complete: true},
      })
    }
  })

/** Build names are unique; an image that goes through a registry needs the chart told where its repository goes. */
function checkBuilds(config: DevctlConfig, ctx: z.RefinementCtx): void {
  const seen = new Set<string>()
  config.build.forEach((image, index) => {
    if (seen.has(image.name)) ctx.addIssue({code: 'custom', path: ['build', index, 'name'], message: `is built twice: "${image.name}" is already an entry above`, params: {complete: true}})
    seen.add(image.name)
  })
  if (config.build.length === 0) return
  const {cluster} = config
  if (cluster.provider === 'existing' && !cluster.registry) {
    ctx.addIssue({
      code: 'custom',
      path: ['cluster'],
      message: 'has no registry, and an existing cluster can only run the images devctl builds by pulling them from one: add registry: {host: REGISTRY[/PREFIX]} (docker login to it first)',
      params: {complete: true},
    })
  }
  const viaRegistry = cluster.provider === 'existing' ? cluster.registry !== undefined : cluster.registry?.enabled === true
  if (!viaRegistry) return
  config.build.forEach((image, index) => {
    if (image.repository !== undefined) return
    ctx.addIssue({
      code: 'custom',
      path: ['build', index],
      message: `needs "repository" (e.g. repository: image.repository): the image goes through the registry, so the cluster pulls it by the registry's name for it, and devctl must tell the chart`,
      params: {complete: true},
    })
  })
}

export type DevctlConfigInput = z.input<typeof configSchema>
export type DevctlConfig = z.output<typeof configSchema>
export type K3dClusterConfig = z.output<typeof k3dCluster>
export type ChartSource = z.output<typeof chartSource>
export type MigrationSetting = z.output<typeof migration>
export type Timeouts = z.output<typeof timeouts>
export type HookStage = keyof z.output<typeof hooks>
export type Wiring = z.output<typeof wiring>
export type BuildImage = z.output<typeof buildImage>
export type SnapshotSettings = z.output<typeof snapshots>

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, {io: 'input', unrepresentable: 'any'}),
    $id: 'https://devctl.dev/schema/devctl.schema.json',
    title: 'devctl.yaml',
  }
}

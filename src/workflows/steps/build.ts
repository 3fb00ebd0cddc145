/**
 * `up`'s build steps: "build every image whose code changed (side by side), then get the new
 * ones into the cluster and tell the chart their tags" — the tags go into devctl's own values
 * overlay, never into the user's values files.
 */
import {deliverImages, LOCAL_REGISTRY_HOSTING, registryFromHosting, type DeliveredImage, type Route} from '../../build/deliver.js'
import {buildImage, imageBuilds, type BuiltImage, type ImageBuild} from '../../build/images.js'
import {buildValuesFile, overlayValues, writeOverlay, type Override} from '../../build/overrides.js'
import type {RenderedChart} from '../../chart/manifests.js'
import type {BuildImage, DevctlConfig} from '../../config/schema.js'
import {BuildError} from '../../errors.js'
import {exists} from '../../system/files.js'
import type {KubernetesObject, V1PodSpec} from '../../kube/types.js'
import {count} from '../../text.js'
import type {K3dCluster} from '../../tools/k3d.js'
import type {Connection} from '../connect.js'
import {formatDuration, type Pipeline, type Step, type StepGroup, type StepRun} from '../pipeline.js'
import type {Project} from '../project.js'

function buildStep(image: BuildImage): Step<{project: Project; build: ImageBuild}, BuiltImage> {
  return {
    id: `build:${image.name}`,
    title: () => `Image ${image.name}`,
    async execute({project, build}, run) {
      const started = Date.now()
      // What runs now goes in the title (live in a terminal, not a line each in CI logs); each step ends with a line.
      const activity = (message: string) => run.title(`Image ${image.name}: ${message.length > 80 ? `${message.slice(0, 79)}…` : message}`)
      activity('reading the build context')
      const built = await buildImage(build, project.tools.docker, project.stateDir, {signal: run.signal, step: (line) => run.log(image.name, line), note: activity}).catch((error: unknown) => {
        run.title(`Image ${image.name}: not built`)
        throw error
      })
      run.title(built.built ? `Image ${built.ref} built in ${formatDuration(Date.now() - started)}` : `Image ${image.name} unchanged (${built.tag}), not rebuilt`)
      return built
    },
  }
}

/** The build group as listed before it runs: one step per image. */
export function buildGroup(config: Pick<DevctlConfig, 'build'>): StepGroup {
  return {id: 'build', title: () => `Build ${count(config.build.length, 'image')}`, steps: config.build.map(buildStep)}
}

/** Build the images (all of them, or those named), side by side; each one only if its code changed. */
export async function buildImages(pipeline: Pipeline, project: Project, only?: ReadonlySet<string>): Promise<BuiltImage[]> {
  const builds = imageBuilds(project.config.build, project.dir, project.stateDir).filter((build) => !only || only.has(build.config.name))
  const group = {...buildGroup({build: builds.map((build) => build.config)}), title: () => `Build ${builds.map((build) => build.config.name).join(', ')}`}
  return pipeline.group(group, (members) => Promise.all(builds.map((build) => members.run(buildStep(build.config), {project, build}))))
}

/** Where this project's images go: see build/deliver.ts. */
async function routeFor(project: Project, connection: Connection, cluster: K3dCluster | undefined, run: StepRun): Promise<Route> {
  const config = project.config.cluster
  const name = project.names.clusterName
  if (config.provider === 'existing') {
    if (!config.registry) {
      throw new BuildError(`Context ${config.context} is an existing cluster, which can only run the images devctl builds by pulling them from a registry, and devctl.yaml names none for it.`, {
        hint: 'Add cluster: {provider: existing, context: ..., registry: {host: REGISTRY[/PREFIX]}} to devctl.yaml (and docker login to it), instead of --context.',
      })
    }
    return {kind: 'registry', push: config.registry.host, pull: config.registry.hostFromCluster ?? config.registry.host, local: false}
  }
  if (config.registry?.enabled) {
    const hosting = await connection.kube.get('ConfigMap', LOCAL_REGISTRY_HOSTING.namespace, LOCAL_REGISTRY_HOSTING.name)
    const registry = registryFromHosting(hosting?.data?.[LOCAL_REGISTRY_HOSTING.key])
    if (registry) return {kind: 'registry', ...registry, local: true}
    run.warn(
      `devctl.yaml enables cluster.registry, but cluster ${name} was created without one, so the images are imported into its nodes instead. \`devctl down && devctl up\` recreates it with its registry (and deletes the Postgres and Redis data in it).`,
    )
  }
  const nodes = cluster?.nodes ?? (await project.tools.k3d.find(name, run.signal))?.nodes ?? []
  return {kind: 'import', cluster: name, nodes}
}

/** Each delivered image's tag, and repository, at the places devctl.yaml says the chart takes them. */
function overridesOf(images: DeliveredImage[]): Override[] {
  return images.flatMap((image) => {
    const {config, index} = image.build
    return [
      {target: config.tag, value: image.tag, configPath: ['build', index, 'tag']},
      ...(config.repository ? [{target: config.repository, value: image.repository, configPath: ['build', index, 'repository']}] : []),
    ]
  })
}

export interface ImagesForChart {
  images: DeliveredImage[]
  /** devctl's values overlay with their tags: helm reads it after the user's values files. */
  valuesFile: string
}

function describeDelivery(images: DeliveredImage[], route: Route): string {
  const moved = images.filter((image) => image.moved).map((image) => image.name)
  const where = route.kind === 'import' ? `imported into cluster ${route.cluster}` : `pushed to ${route.push}`
  if (moved.length === 0) return `Images: ${route.kind === 'import' ? `already in cluster ${route.cluster}` : `already in ${route.push}`}`
  return `Images: ${moved.join(', ')} ${where}`
}

export const imagesStep: Step<{project: Project; connection: Connection; cluster?: K3dCluster; images: BuiltImage[]}, ImagesForChart> = {
  id: 'images',
  title: (project) => (project.config.cluster.provider === 'k3d' ? `Images into cluster ${project.names.clusterName}` : 'Images to the registry'),
  async execute({project, connection, cluster, images}, run) {
    const route = await routeFor(project, connection, cluster, run)
    const reportedImages = async () => {
      const nodes = await connection.kube.list('Node', undefined)
      return new Map(nodes.map((node) => [node.metadata?.name ?? '', new Set((node.status?.images ?? []).flatMap((image) => image.names ?? []))]))
    }
    const delivered = await deliverImages(route, images, {docker: project.tools.docker, k3d: project.tools.k3d, signal: run.signal, note: (message) => run.note(message), reportedImages})
    const valuesFile = await writeOverlay(project.stateDir, await overlayValues(project.valuesFiles, overridesOf(delivered), project.loaded.path))
    run.title(describeDelivery(delivered, route))
    return {images: delivered, valuesFile}
  },
}

/**
 * For `upgrade`: the values overlay of the images the last `up` (or `dev` cycle) deployed, so an
 * upgrade keeps running them. Not with --image-tag, which chooses a tag itself.
 */
export async function deployedImageValues(project: Project, imageTag: string | undefined): Promise<string[]> {
  const file = buildValuesFile(project.stateDir)
  return project.config.build.length > 0 && imageTag === undefined && (await exists(file)) ? [file] : []
}

type PodTemplateOwner = KubernetesObject & {spec?: {template?: {spec?: V1PodSpec}} & Partial<V1PodSpec>}

/**
 * What in the rendered chart would not run the images as built: no workload uses one (its tag or
 * repository is not where devctl.yaml says), or one pulls an imported image with pullPolicy Always
 * (there is no registry to pull it from: ErrImagePull).
 */
export function imageWarnings(rendered: RenderedChart, images: DeliveredImage[]): string[] {
  const containers = (rendered.objects as PodTemplateOwner[]).flatMap((object) => {
    const spec = object.kind === 'Pod' ? (object.spec as V1PodSpec | undefined) : object.spec?.template?.spec
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((container) => ({owner: `${object.kind} ${object.metadata?.name}`, container}))
  })
  return images.flatMap((image) => {
    const ref = `${image.repository}:${image.tag}`
    const users = containers.filter(({container}) => container.image === ref || container.image === `docker.io/${ref}` || container.image === `docker.io/library/${ref}`)
    if (users.length === 0) {
      const config = image.build.config
      return [
        `No workload in the chart runs ${ref}, the image devctl built: check where devctl.yaml's build[${image.build.index}] puts it (tag: ${config.tag}${config.repository ? `, repository: ${config.repository}` : ', and no repository: the chart keeps its own'}).`,
      ]
    }
    if (image.via !== 'import') return []
    return users
      .filter(({container}) => container.imagePullPolicy === 'Always')
      .map(
        ({owner}) =>
          `${owner} pulls ${ref} with imagePullPolicy: Always, but the image was imported into the cluster, not pushed to a registry: the pull will fail (ErrImagePull). Set the chart's pull policy to IfNotPresent in your values file, or let images go through a registry (cluster.registry in devctl.yaml).`,
      )
  })
}

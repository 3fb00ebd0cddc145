/**
 * Getting built images to where the cluster runs them, and saying what the chart must pull:
 *   - a k3d cluster: `k3d image import` into every node, then checked on each node's containerd
 *     (k3d can log a node's failure and still exit 0, k3d #1484); an image a node already has is
 *     not imported again;
 *   - a k3d cluster created with its registry (KEP-1755's ConfigMap says where): pushed there,
 *     pulled by the nodes under the registry's in-cluster name — only new layers travel;
 *   - an existing cluster: pushed to the registry devctl.yaml names.
 */
import {parse} from 'yaml'
import * as z from 'zod'

import {BuildError} from '../errors.js'
import type {Docker} from '../tools/docker.js'
import type {K3d} from '../tools/k3d.js'
import type {BuiltImage} from './images.js'

/** Where images go: imported into a k3d cluster's nodes, or through a registry. */
export type Route =
  | {kind: 'import'; cluster: string; nodes: string[]}
  | {kind: 'registry'; /** host[/prefix] pushed to from here */ push: string; /** host[/prefix] the nodes pull from */ pull: string; /** k3d's own registry */ local: boolean}

export interface DeliveredImage extends BuiltImage {
  /** The repository the chart is given: the image's name, or its name in the registry the nodes pull from. */
  repository: string
  via: Route['kind']
  /** Moved to the cluster now (false: it was there already). */
  moved: boolean
}

export const LOCAL_REGISTRY_HOSTING = {namespace: 'kube-public', name: 'local-registry-hosting', key: 'localRegistryHosting.v1'} as const

const hostingSchema = z.looseObject({host: z.string().min(1), hostFromContainerRuntime: z.string().optional(), hostFromClusterNetwork: z.string().optional()})

/** KEP-1755's `localRegistryHosting.v1`: where to push from here and what nodes pull by. */
export function registryFromHosting(text: string | undefined): {push: string; pull: string} | undefined {
  if (text === undefined) return undefined
  let data: unknown
  try {
    data = parse(text)
  } catch {
    return undefined
  }
  const hosting = hostingSchema.safeParse(data)
  if (!hosting.success) return undefined
  return {push: hosting.data.host, pull: hosting.data.hostFromContainerRuntime ?? hosting.data.hostFromClusterNetwork ?? hosting.data.host}
}

/** `ghcr.io/acme/api` in registry `localhost:5001` is `localhost:5001/acme/api`: the image's own registry host gives way. */
export function nameInRegistry(name: string, registry: string): string {
  const [first, ...rest] = name.split('/')
  const hasHost = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost')
  return `${registry.replace(/\/+$/, '')}/${hasHost ? rest.join('/') : name}`
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/

/**
 * Does the registry have this tag already? Asked over HTTP for a registry on this machine
 * (where docker itself speaks plain HTTP); elsewhere it is not known, and the push decides.
 */
async function registryHas(ref: string, signal: AbortSignal): Promise<boolean> {
  const slash = ref.indexOf('/')
  const host = ref.slice(0, slash)
  if (!LOOPBACK.test(host)) return false
  const colon = ref.lastIndexOf(':')
  const url = `http://${host}/v2/${ref.slice(slash + 1, colon)}/manifests/${ref.slice(colon + 1)}`
  try {
    const response = await fetch(url, {
      method: 'HEAD',
      headers: {accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'},
      signal: AbortSignal.any([signal, AbortSignal.timeout(3000)]),
    })
    return response.ok
  } catch {
    return false
  }
}

/** k3d's (and containerd's) names for an image: `docker.io/library/api:dev-1` for `api:dev-1`. */
export function containerdName(ref: string): string {
  const [first, ...rest] = ref.split('/')
  const hasHost = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost')
  if (hasHost) return ref
  return `docker.io/${rest.length === 0 ? `library/${ref}` : ref}`
}

export interface DeliveryTools {
  docker: Docker
  k3d: K3d
  signal: AbortSignal
  note(message: string): void
  /**
   * The images each node reports in its status (`.status.images[].names`), by node name: one API
   * call, no process. The kubelet refreshes that list every few tens of seconds and caps it at 50
   * images, so it only ever saves asking the node itself, never replaces it.
   */
  reportedImages(): Promise<Map<string, Set<string>>>
}

async function missingOnNodes(images: BuiltImage[], nodes: string[], tools: DeliveryTools): Promise<Map<string, string[]>> {
  const missing = new Map<string, string[]>()
  if (images.length === 0) return missing
  const listed = await Promise.all(nodes.map(async (node) => ({node, present: new Set(await tools.docker.containerdImages(node, tools.signal))})))
  for (const {node, present} of listed) {
    for (const image of images) if (!present.has(containerdName(image.ref))) missing.set(image.ref, [...(missing.get(image.ref) ?? []), node])
  }
  return missing
}

async function importInto(route: Extract<Route, {kind: 'import'}>, images: BuiltImage[], tools: DeliveryTools): Promise<DeliveredImage[]> {
  // An image built just now has a tag no node can have yet: only the others are looked for.
  const reported = images.some((image) => !image.built) ? await tools.reportedImages() : new Map<string, Set<string>>()
  const found = images.filter((image) => !image.built && !route.nodes.every((node) => reported.get(node)?.has(containerdName(image.ref))))
  if (found.length > 0) tools.note(`checking what the nodes of ${route.cluster} have`)
  const missing = await missingOnNodes(found, route.nodes, tools)
  const needed = images.filter((image) => image.built || missing.has(image.ref))
  if (needed.length > 0) {
    tools.note(`k3d image import ${needed.map((image) => image.ref).join(' ')}`)
    const complaints = await tools.k3d.importImages(
      route.cluster,
      needed.map((image) => image.ref),
      tools.signal,
    )
    const after = await missingOnNodes(needed, route.nodes, tools)
    const [ref, nodes] = [...after][0] ?? []
    if (ref && nodes) {
      throw new BuildError(`k3d said it imported ${ref} into cluster ${route.cluster}, but node ${nodes.join(' and ')} does not have it.`, {
        details: complaints.map((line) => `k3d: ${line}`),
        hint: `k3d logs a node's failed import and still succeeds (k3d #1484). Run this again; if it keeps failing, \`k3d image import ${ref} -c ${route.cluster} --mode direct\` shows the node's error, or let images go through a registry (cluster.registry in devctl.yaml).`,
      })
    }
  }
  return images.map((image) => ({...image, repository: image.name, via: 'import', moved: needed.includes(image)}))
}

async function pushTo(route: Extract<Route, {kind: 'registry'}>, images: BuiltImage[], tools: DeliveryTools): Promise<DeliveredImage[]> {
  const delivered: DeliveredImage[] = []
  for (const image of images) {
    const pushed = `${nameInRegistry(image.name, route.push)}:${image.tag}`
    const have = await registryHas(pushed, tools.signal)
    if (!have) {
      tools.note(`docker push ${pushed}`)
      await tools.docker.tag(image.ref, pushed, tools.signal)
      await tools.docker.push(pushed, tools.signal)
    }
    delivered.push({...image, repository: nameInRegistry(image.name, route.pull), via: 'registry', moved: !have})
  }
  return delivered
}

export function deliverImages(route: Route, images: BuiltImage[], tools: DeliveryTools): Promise<DeliveredImage[]> {
  return route.kind === 'import' ? importInto(route, images, tools) : pushTo(route, images, tools)
}

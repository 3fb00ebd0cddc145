/**
 * The simulated docker host's images: the engine's image store (content-addressed: an image's
 * ID is the digest of its config, which names its layers, so the same build gives the same ID),
 * and the registries the host and the clusters reach — each k3d cluster's own, ones a test adds
 * (a team registry), and "the internet", which serves any public image but none of the
 * repositories this host built and never pushed.
 */
import {createHash} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {ImagePuller, NodeImage} from '../apiserver/contract.js'

export interface ImageConfig {
  Env: string[]
  Cmd: string[] | null
  Entrypoint: string[] | null
  WorkingDir: string
  User: string
  Labels: Record<string, string>
  ExposedPorts: Record<string, object>
}

export interface SimImage {
  /** `sha256:` + the digest of its config (which lists its layers). */
  id: string
  created: string
  size: number
  /** Digests of its layers, oldest first. */
  layers: string[]
  config: ImageConfig
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export const emptyConfig = (): ImageConfig => ({
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  Cmd: null,
  Entrypoint: null,
  WorkingDir: '',
  User: '',
  Labels: {},
  ExposedPorts: {},
})

/** An image from its layers and config; its ID follows from them alone. */
export function makeImage(layers: string[], config: ImageConfig, size: number, created = '1970-01-01T00:00:00Z'): SimImage {
  return {id: `sha256:${sha256(JSON.stringify({layers, config}))}`, created, size, layers, config}
}

export interface Reference {
  /** Registry host as written (`localhost:5001`), `docker.io` when none is. */
  registry: string
  /** Repository path in it (`library/alpine`, `acme/api`). */
  repository: string
  tag: string
  digest?: string
}

/** docker's reference rules: a first component with "." or ":" (or localhost) is a registry; docker.io images get library/; no tag is :latest. */
export function parseReference(ref: string): Reference {
  const [name = '', digest] = ref.split('@')
  const slash = name.indexOf('/')
  const first = slash < 0 ? '' : name.slice(0, slash)
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost'
  const registry = hasRegistry ? first : 'docker.io'
  let path = hasRegistry ? name.slice(slash + 1) : name
  const colon = path.lastIndexOf(':')
  const tag = colon > path.lastIndexOf('/') ? path.slice(colon + 1) : 'latest'
  if (colon > path.lastIndexOf('/')) path = path.slice(0, colon)
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`
  return {registry, repository: path, tag, digest}
}

/** `docker.io/library/alpine:3.20`: how containerd names an image. */
export function canonicalName(ref: string): string {
  const {registry, repository, tag} = parseReference(ref)
  return `${registry}/${repository}:${tag}`
}

/** `alpine:3.20`, `acme/api:dev-1`, `localhost:5001/api:dev-1`: how docker shows an image's tags. */
export function familiarName(ref: string): string {
  const {registry, repository, tag} = parseReference(ref)
  const path = registry === 'docker.io' ? repository.replace(/^library\//, '') : `${registry}/${repository}`
  return `${path}:${tag}`
}

/** The engine's images and their tags. */
export class ImageStore {
  private readonly images = new Map<string, SimImage>()
  private readonly tags = new Map<string, string>()
  /** Repositories that got an image here by a build or a tag: they exist nowhere else until pushed. */
  readonly localRepositories = new Set<string>()

  add(image: SimImage): SimImage {
    this.images.set(image.id, image)
    return image
  }

  tag(ref: string, image: SimImage, built: boolean): void {
    this.add(image)
    this.tags.set(canonicalName(ref), image.id)
    if (built) {
      const {registry, repository} = parseReference(ref)
      this.localRepositories.add(`${registry}/${repository}`)
    }
  }

  /** By reference, full ID or an ID prefix of 12 or more hex characters. */
  get(ref: string): SimImage | undefined {
    const byTag = this.tags.get(canonicalName(ref))
    if (byTag) return this.images.get(byTag)
    const hex = ref.replace(/^sha256:/, '')
    if (/^[a-f0-9]{12,64}$/.test(hex)) return [...this.images.values()].find((image) => image.id.slice('sha256:'.length).startsWith(hex))
    return undefined
  }

  /** The image's tags, as docker shows them. */
  tagsOf(image: SimImage): string[] {
    return [...this.tags].filter(([, id]) => id === image.id).map(([name]) => familiarName(name))
  }

  list(): SimImage[] {
    return [...this.images.values()]
  }
}

/** A manifest in a registry: the image it describes and the manifest's own digest. */
export interface StoredManifest {
  image: SimImage
  digest: string
}

/** One registry: repositories of tagged manifests. */
export class SimRegistry {
  private readonly manifests = new Map<string, StoredManifest>()

  /**
   * `hosts`: every `host:port` it answers to — from this machine (`localhost:5001`,
   * `127.0.0.1:5001`) and from inside the cluster (`demo-registry:5000`).
   */
  constructor(readonly hosts: string[]) {}

  answersTo(host: string): boolean {
    return this.hosts.includes(host)
  }

  put(repository: string, tag: string, image: SimImage): StoredManifest {
    const manifest = {image, digest: `sha256:${sha256(`manifest:${image.id}`)}`}
    this.manifests.set(`${repository}:${tag}`, manifest)
    return manifest
  }

  get(repository: string, reference: string): StoredManifest | undefined {
    if (reference.startsWith('sha256:')) return [...this.manifests].find(([key, m]) => key.startsWith(`${repository}:`) && m.digest === reference)?.[1]
    return this.manifests.get(`${repository}:${reference}`)
  }

  tags(repository: string): string[] {
    return [...this.manifests.keys()].filter((key) => key.startsWith(`${repository}:`)).map((key) => key.slice(repository.length + 1))
  }
}

/** A node image for `ref` from a stored image (import) or a registry's manifest (pull). */
export function nodeImage(ref: string, image: SimImage, manifest?: {repository: string; registry: string; digest: string}): NodeImage {
  const names = [canonicalName(ref)]
  if (manifest) names.push(`${manifest.registry}/${manifest.repository}@${manifest.digest}`)
  return {names, id: image.id, sizeBytes: image.size}
}

/**
 * Where a cluster's kubelet pulls from: `registries` (the cluster's own and the ones a test added,
 * by the names the cluster uses), else the internet (undefined: the kubelet's public image) — which
 * has no repository this host only built.
 */
export function clusterPuller(registries: () => SimRegistry[], localRepositories: Set<string>): ImagePuller {
  return {
    pull(image) {
      const ref = parseReference(image)
      const registry = registries().find((r) => r.hosts.includes(ref.registry))
      if (registry) {
        const manifest = registry.get(ref.repository, ref.digest ?? ref.tag)
        if (!manifest) return {ok: false, message: `${canonicalName(image)}: not found`}
        return {ok: true, image: nodeImage(image, manifest.image, {registry: ref.registry, repository: ref.repository, digest: manifest.digest})}
      }
      if (localRepositories.has(`${ref.registry}/${ref.repository}`)) {
        return {ok: false, message: 'pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed'}
      }
      return undefined
    },
  }
}

/** The registry's HTTP API (distribution v2), read-only: what `curl`, devctl and a kubelet ask of it. */
export function registryApi(registry: SimRegistry): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, head = false) => {
    const text = JSON.stringify(body)
    res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'docker-distribution-api-version': 'registry/2.0', 'content-length': String(Buffer.byteLength(text)), ...headers})
    res.end(head ? undefined : text)
  }
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname
    const head = req.method === 'HEAD'
    if (req.method !== 'GET' && !head) return send(res, 405, {errors: [{code: 'UNSUPPORTED', message: 'The operation is unsupported.'}]})
    if (path === '/v2/' || path === '/v2') return send(res, 200, {}, {}, head)
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)
    if (manifest) {
      const [, repository = '', reference = ''] = manifest
      const stored = registry.get(repository, reference)
      if (!stored) return send(res, 404, {errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: {Tag: reference}}]}, {}, head)
      const body = {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {mediaType: 'application/vnd.docker.container.image.v1+json', size: 1469, digest: stored.image.id},
        layers: stored.image.layers.map((digest) => ({mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1024, digest: `sha256:${digest}`})),
      }
      return send(res, 200, body, {'docker-content-digest': stored.digest, 'content-type': 'application/vnd.docker.distribution.manifest.v2+json'}, head)
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path)
    if (tags) {
      const found = registry.tags(tags[1]!)
      if (found.length === 0) return send(res, 404, {errors: [{code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: {name: tags[1]}}]}, {}, head)
      return send(res, 200, {name: tags[1], tags: found}, {}, head)
    }
    return send(res, 404, {errors: [{code: 'NOT_FOUND', message: 'not found'}]}, {}, head)
  }
}

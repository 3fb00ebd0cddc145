/**
 * Whose is it? devctl marks what it creates with this checkout's environment id and, before it
 * reuses, rewrites or deletes a cluster or namespace, reads the mark back. These decisions are
 * pure: the workflows act on them, and a unit test covers each row.
 */
import type {EnvironmentIdentity} from './identity.js'

/**
 * ours: created by this checkout. adopted: taken over with --adopt (used, never deleted).
 * foreign: created by another checkout of devctl. unmarked: devctl did not create it (or an
 * older devctl did, before it marked what it made).
 */
export type Ownership = 'ours' | 'adopted' | 'foreign' | 'unmarked'

export interface Mark {
  owner?: string
  /** The project directory the owner recorded. */
  dir?: string
}

/** `what` names the thing in adoption records: "cluster demo", "namespace shop-ann". */
export function ownershipOf(mark: Mark, identity: EnvironmentIdentity, what: string): Ownership {
  if (mark.owner === identity.id) return 'ours'
  if (identity.adopted.some((a) => a.what === what && a.owner === mark.owner)) return 'adopted'
  return mark.owner ? 'foreign' : 'unmarked'
}

/** What devctl may do with it: use it at all, and delete it on `down`. */
export function mayUse(ownership: Ownership): boolean {
  return ownership === 'ours' || ownership === 'adopted'
}

export function mayDelete(ownership: Ownership): boolean {
  return ownership === 'ours'
}

/** "another checkout (created from /home/ann/shop)", for messages. */
export function describeOwner(ownership: Ownership, mark: Mark): string {
  switch (ownership) {
    case 'ours':
      return 'this checkout'
    case 'adopted':
      return `another checkout${mark.dir ? ` (${mark.dir})` : ''}, taken over here with --adopt`
    case 'foreign':
      return `another checkout of devctl${mark.dir ? ` (created from ${mark.dir})` : ''}`
    case 'unmarked':
      return 'something other than devctl (or a devctl older than its ownership marks)'
  }
}

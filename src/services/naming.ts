/**
 * Names of what devctl itself runs in the app's namespace. The values file written by `init`
 * points the chart at these, and `up` creates them, so both sides import them from here.
 */
export const POSTGRES = {service: 'devctl-postgres', secret: 'devctl-postgres', port: 5432} as const
export const REDIS = {service: 'devctl-redis', secret: 'devctl-redis', port: 6379} as const

/** Label on every object devctl creates itself (not through the chart). */
export const MANAGED_BY_LABEL = {'app.kubernetes.io/managed-by': 'devctl'} as const

/** `app.kubernetes.io/managed-by=devctl`, for list calls. */
export const MANAGED_BY_SELECTOR = Object.entries(MANAGED_BY_LABEL)
  .map(([key, value]) => `${key}=${value}`)
  .join(',')

/** Did devctl create this object itself? */
export function managedByDevctl(object: {metadata?: {labels?: Record<string, string>}} | undefined): boolean {
  return object?.metadata?.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY_LABEL['app.kubernetes.io/managed-by']
}

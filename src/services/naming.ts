/**
 * Names of what devctl itself runs in the app's namespace. The values file written by `init`
 * points the chart at these, and `up` creates them, so both sides import them from here.
 */
export const POSTGRES = {service: 'devctl-postgres', secret: 'devctl-postgres', port: 5432} as const
export const REDIS = {service: 'devctl-redis', secret: 'devctl-redis', port: 6379} as const

/** Label on every object devctl creates itself (not through the chart). */
export const MANAGED_BY_LABEL = {'app.kubernetes.io/managed-by': 'devctl'} as const

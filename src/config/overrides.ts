/** Command-line overrides of devctl.yaml, applied after validation. */
import {resolveNames, type LoadedConfig} from './load.js'

/** `--context NAME`: deploy into an existing cluster instead of the configured one. */
export function withContextOverride(loaded: LoadedConfig, context: string | undefined): LoadedConfig {
  if (!context) return loaded
  const config = {...loaded.config, cluster: {provider: 'existing' as const, context}}
  return {...loaded, config, resolved: resolveNames(config)}
}

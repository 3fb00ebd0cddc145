/**
 * The flags of the helm commands the simulator emulates, per helm major version, as declared
 * in helm 3.17 (cmd/helm) and helm 4.1 (pkg/cmd). A flag of the other version is "unknown".
 */
import type {FlagSpec} from './flags.js'
import type {HelmVersion} from './host.js'

const outputFormats = ['table', 'json', 'yaml']
const output: FlagSpec = {name: 'output', short: 'o', kind: 'string', default: 'table', validate: (v) => (outputFormats.includes(v) ? undefined : 'invalid format type')}
const waitStrategies = ['watcher', 'hookOnly', 'legacy', 'true', 'false']
/** helm 4's --wait: a strategy, "watcher" when given bare, "hookOnly" when absent. */
const wait4: FlagSpec = {
  name: 'wait',
  kind: 'string',
  default: 'hookOnly',
  noOptDefault: 'watcher',
  validate: (v) => (waitStrategies.includes(v) ? undefined : `invalid wait input ${JSON.stringify(v)}. Valid inputs are watcher, hookOnly, and legacy`),
}
const dryRun4: FlagSpec = {name: 'dry-run', kind: 'string', noOptDefault: 'client'}
/** helm 4 upgrade/rollback: "true", "false" or "auto" (the previous release's method). */
const serverSide4: FlagSpec = {name: 'server-side', kind: 'string', default: 'auto'}
const timeout: FlagSpec = {name: 'timeout', kind: 'duration', default: '5m0s'}

const bool = (...names: string[]): FlagSpec[] => names.map((name) => ({name, kind: 'bool'}))
const str = (...names: string[]): FlagSpec[] => names.map((name) => ({name, kind: 'string'}))

export function globalHelmFlags(version: HelmVersion): FlagSpec[] {
  return [
    {name: 'namespace', short: 'n', kind: 'string'},
    ...str('kubeconfig', 'kube-context', 'kube-token', 'kube-as-user', 'kube-apiserver', 'kube-ca-file', 'kube-tls-server-name', 'registry-config', 'repository-config', 'repository-cache', 'qps'),
    {name: 'kube-as-group', kind: 'stringArray'},
    ...bool('kube-insecure-skip-tls-verify', 'debug'),
    {name: 'burst-limit', kind: 'int', default: '100'},
    {name: 'help', short: 'h', kind: 'bool'},
    ...(version === 4 ? [...str('content-cache'), {name: 'color', kind: 'string', default: 'auto'} as FlagSpec, {name: 'colour', kind: 'string', default: 'auto'} as FlagSpec] : []),
  ]
}

const valueFlags: FlagSpec[] = [{name: 'values', short: 'f', kind: 'stringSlice'}, ...['set', 'set-string', 'set-file', 'set-json', 'set-literal'].map((name): FlagSpec => ({name, kind: 'stringArray'}))]
/** Names of the flags that carry values; forwarded as given to the real `helm template`. */
export const valueFlagNames = valueFlags.map((f) => f.name)

/** Names of the flags that say where and how to fetch a chart; forwarded to the real `helm pull`. */
export const chartPathFlagNames = ['version', 'keyring', 'repo', 'username', 'password', 'cert-file', 'key-file', 'ca-file', 'verify', 'insecure-skip-tls-verify', 'plain-http', 'pass-credentials']

const chartPathFlags: FlagSpec[] = [...str('version', 'keyring', 'repo', 'username', 'password', 'cert-file', 'key-file', 'ca-file'), ...bool('verify', 'insecure-skip-tls-verify', 'plain-http', 'pass-credentials')]

function installLikeFlags(version: HelmVersion): FlagSpec[] {
  const common = [
    ...bool('create-namespace', 'no-hooks', 'wait-for-jobs', 'devel', 'dependency-update', 'disable-openapi-validation', 'skip-crds', 'render-subchart-notes', 'skip-schema-validation', 'enable-dns', 'hide-notes', 'take-ownership', 'hide-secret'),
    timeout,
    ...str('description', 'post-renderer'),
    {name: 'post-renderer-args', kind: 'stringArray'} as FlagSpec,
    {name: 'labels', short: 'l', kind: 'stringToString'} as FlagSpec,
    output,
    ...valueFlags,
    ...chartPathFlags,
  ]
  if (version === 3) return [...common, ...bool('force', 'wait', 'atomic'), {name: 'dry-run', kind: 'string', noOptDefault: 'client'}]
  return [
    ...common,
    ...bool('force-replace', 'force-conflicts', 'rollback-on-failure'),
    {name: 'force', kind: 'bool', deprecated: 'use --force-replace instead'},
    {name: 'atomic', kind: 'bool', deprecated: 'use --rollback-on-failure instead'},
    dryRun4,
    wait4,
  ]
}

export function helmCommandFlags(version: HelmVersion, command: string): FlagSpec[] {
  switch (command) {
    case 'install':
      return [
        ...installLikeFlags(version),
        ...bool('replace'),
        {name: 'generate-name', short: 'g', kind: 'bool'},
        ...str('name-template'),
        ...(version === 4 ? [{name: 'server-side', kind: 'bool', default: 'true'} as FlagSpec] : []),
      ]
    case 'upgrade':
      return [
        ...installLikeFlags(version),
        {name: 'install', short: 'i', kind: 'bool'},
        ...bool('reset-values', 'reuse-values', 'reset-then-reuse-values', 'cleanup-on-fail', ...(version === 3 ? ['recreate-pods'] : [])),
        {name: 'history-max', kind: 'int', default: '10'},
        ...(version === 4 ? [serverSide4] : []),
      ]
    case 'status':
      return [{name: 'revision', kind: 'int'}, output, ...(version === 3 ? bool('show-desc', 'show-resources') : [])]
    case 'history':
      return [{name: 'max', kind: 'int', default: '256'}, output]
    case 'rollback':
      return [
        ...bool('no-hooks', 'wait-for-jobs', 'cleanup-on-fail'),
        timeout,
        {name: 'history-max', kind: 'int', default: '10'},
        ...(version === 3
          ? bool('dry-run', 'recreate-pods', 'force', 'wait')
          : [...bool('force-replace', 'force-conflicts'), {name: 'force', kind: 'bool', deprecated: 'use --force-replace instead'} as FlagSpec, serverSide4, dryRun4, wait4]),
      ]
    case 'uninstall':
      return [...bool('dry-run', 'no-hooks', 'ignore-not-found', 'keep-history'), {name: 'cascade', kind: 'string', default: 'background'}, timeout, ...str('description'), ...(version === 3 ? bool('wait') : [wait4])]
    case 'list':
      return [
        {name: 'short', short: 'q', kind: 'bool'},
        ...bool('no-headers', 'uninstalled', 'superseded', 'uninstalling', 'deployed', 'failed', 'pending'),
        ...str('time-format'),
        {name: 'date', short: 'd', kind: 'bool'},
        {name: 'reverse', short: 'r', kind: 'bool'},
        {name: 'all-namespaces', short: 'A', kind: 'bool'},
        {name: 'max', short: 'm', kind: 'int', default: '256'},
        {name: 'offset', kind: 'int'},
        {name: 'filter', short: 'f', kind: 'string'},
        {name: 'selector', short: 'l', kind: 'string'},
        output,
        ...(version === 3 ? [{name: 'all', short: 'a', kind: 'bool'} as FlagSpec] : []),
      ]
    case 'get values':
      return [{name: 'revision', kind: 'int'}, {name: 'all', short: 'a', kind: 'bool'}, output]
    case 'get manifest':
    case 'get notes':
    case 'get hooks':
      return [{name: 'revision', kind: 'int'}]
    default:
      return []
  }
}

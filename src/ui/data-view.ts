/** What the data commands print: the forward table and its changes, snapshots, restores, resets, a connection URL. */
import type {ChalkInstance} from 'chalk'

import type {ForwardEvent} from '../data/forward.js'
import type {Snapshot} from '../data/snapshots.js'
import {count, formatBytes} from '../text.js'
import type {ResetResult, RestoreResult, SnapshotListing, SnapshotResult} from '../workflows/db.js'
import type {ForwardSession} from '../workflows/forward.js'
import {formatDuration} from '../workflows/pipeline.js'
import {timeAgo} from './status-view.js'
import {forDisplay} from './untrusted-text.js'

/** Rows as aligned columns; the last column is not padded. */
function columns(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]!.length))) ?? []
  return rows.map((row) => `${indent}${row.map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column]!) : cell)).join('   ')}`.trimEnd())
}

export function renderForwardTable(session: ForwardSession, pods: ReadonlyMap<string, string | undefined>, t: ChalkInstance): string {
  const rows = [['NAME', 'LOCAL', 'SERVICE', 'POD']]
  for (const forward of session.forwards) {
    rows.push([forward.name, `${forward.address}:${forward.localPort}`, `${forward.service}:${forward.port}`, forDisplay(pods.get(forward.name) ?? '(none ready yet)')])
  }
  const [header = '', ...body] = columns(rows)
  const lines = [t.bold(`Forwarding ${count(session.forwards.length, 'port')} from namespace ${session.namespace} (Ctrl-C stops):`), t.dim(header), ...body]
  for (const name of session.unmatched) lines.push(t.yellow(`! forward.ports.${name} in devctl.yaml matches nothing forwarded here (names: ${session.forwards.map((f) => f.name).join(', ')})`))
  return `${lines.join('\n')}\n`
}

/** A change while forwarding, one line (pods come and go; a connection that could not be carried). */
export function renderForwardEvent(event: ForwardEvent, t: ChalkInstance): string {
  if (event.type === 'pod')
    return event.pod ? `${t.cyan('→')} ${event.name}: new connections go to pod ${forDisplay(event.pod)}\n` : `${t.yellow('!')} ${event.name}: no ready pod right now; new connections wait for one\n`
  return `${t.yellow('!')} ${event.name}: ${forDisplay(event.message)}\n`
}

function parts(snapshot: Snapshot): string {
  return snapshot.parts.map((part) => part.service).join('+')
}

export function renderSnapshotList(listing: SnapshotListing, t: ChalkInstance): string {
  if (listing.snapshots.length === 0) return `No snapshots yet in ${listing.directory}. Take one with \`devctl db snapshot NAME\`.\n`
  const rows = [['NAME', 'SIZE', 'AGE', 'REVISION', 'DATA', 'TAKEN']]
  for (const snapshot of [...listing.snapshots].reverse()) {
    rows.push([
      snapshot.name,
      formatBytes(snapshot.bytes),
      timeAgo(snapshot.createdAt),
      snapshot.revision === undefined ? '-' : String(snapshot.revision),
      parts(snapshot),
      snapshot.automatic ? `by devctl${snapshot.reason ? ` (${snapshot.reason})` : ''}` : 'by you',
    ])
  }
  const [header = '', ...body] = columns(rows, '')
  return `${[t.dim(header), ...body].join('\n')}\n${t.dim(`(${listing.directory}; restore one with \`devctl db restore NAME\`)`)}\n`
}

export function renderSnapshotTaken(result: SnapshotResult, t: ChalkInstance): string {
  const {snapshot} = result
  const lines = [
    `${t.green('✔')} Snapshot ${t.bold(snapshot.name)}: ${snapshot.parts.map((part) => `${part.service} ${formatBytes(part.bytes)} in ${formatDuration(part.durationMs)}`).join(', ')}${snapshot.revision === undefined ? '' : ` (release revision ${snapshot.revision})`}.`,
  ]
  if (result.pruned.length) lines.push(t.dim(`  removed older automatic snapshots: ${result.pruned.join(', ')}`))
  lines.push(t.dim(`  \`devctl db restore ${snapshot.name}\` puts this data back.`))
  return `${lines.join('\n')}\n`
}

export function renderRestored(result: RestoreResult, t: ChalkInstance): string {
  const {restored} = result
  return `${t.green('✔')} Restored ${t.bold(restored.name)} (${restored.services.join(' and ')}) in ${formatDuration(restored.durationMs)}.\n`
}

export function renderReset(result: ResetResult, t: ChalkInstance): string {
  const lines = [`${t.green('✔')} Database ${result.database} (${result.where}) was recreated empty and the migration ran again (${result.up.migration}).`]
  if (result.snapshot) lines.push(t.dim(`  Its data before the reset is in snapshot ${result.snapshot.name}: \`devctl db restore ${result.snapshot.name}\` puts it back.`))
  return `${lines.join('\n')}\n`
}

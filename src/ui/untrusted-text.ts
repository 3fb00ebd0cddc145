/**
 * Text devctl did not write — pod logs, events, pod and Job messages, helm's and hooks' output —
 * can carry terminal control sequences: OSC 52 writes the clipboard, OSC 0 the window title,
 * `ESC[2J` clears the screen, a bare `\r` overwrites a line. Before such text reaches a
 * terminal or a plain log its control characters are made visible the way `cat -v` shows them
 * (`ESC` → `^[`, `BEL` → `^G`, `\r` → `^M`, C1 `U+009B` → `M-^[`), so nothing is executed and
 * nothing is hidden. Tabs, newlines and CRLF line ends stay; the colours devctl adds itself are
 * applied after this, so they are unaffected. --json output needs none of it: JSON escapes them.
 */
import {redact} from '../secrets/redact.js'

// C0 except tab and newline, a carriage return not ending a line, DEL, and C1.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\r(?!\n)/
const CONTROLS = new RegExp(CONTROL.source, 'g')

function caretNotation(char: string): string {
  const code = char.charCodeAt(0)
  if (code === 0x7f) return '^?'
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`
  return `M-^${String.fromCharCode(code - 0x80 + 0x40)}`
}

/** Control characters made visible, as `cat -v` shows them. */
export function escapeControls(text: string): string {
  // Almost every line has none: test once, replace only then.
  return CONTROL.test(text) ? text.replace(CONTROLS, caretNotation) : text
}

/** Untrusted text as it may be shown: secrets masked, then control characters made visible. */
export function forDisplay(text: string): string {
  return escapeControls(redact(text))
}

/** A copy of a plain-data result (a view renders all of it) with every string passed through `forDisplay`. */
export function forDisplayAll<T>(value: T): T {
  if (typeof value === 'string') return forDisplay(value) as T
  if (Array.isArray(value)) return value.map((item: unknown) => forDisplayAll(item)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, forDisplayAll(item)])) as T
  }
  return value
}

const RAW_IN_JSON = /[\u007F-\u009F]/
const RAW_IN_JSON_ALL = new RegExp(RAW_IN_JSON.source, 'g')

/**
 * JSON text (--json) with DEL and the C1 controls escaped as well: JSON.stringify escapes only
 * C0, and a terminal the output is read on may act on a raw U+009B (CSI). Same data once parsed.
 */
export function escapeJsonControls(json: string): string {
  return RAW_IN_JSON.test(json) ? json.replace(RAW_IN_JSON_ALL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) : json
}

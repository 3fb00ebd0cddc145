/**
 * Text that fits the terminal: lines wrapped on word boundaries at its width (wrap-ansi, colours
 * kept), each continuation row indented under the text it continues. Piped output is not
 * wrapped: the reader (a file, a CI log, grep) has no width.
 */
import {stripVTControlCharacters} from 'node:util'

import wrapAnsi from 'wrap-ansi'

/** Some terminals (a serial console, a fresh pty, some CI runners) report 0 columns. */
const FALLBACK_COLUMNS = 80
/** Narrower than this, wrapping costs more than it helps. */
const MIN_TEXT_COLUMNS = 10

/** The width to wrap at: the terminal's columns (0 counts as 80), or undefined when not a terminal. */
export function terminalWidth(stream: {isTTY?: boolean; columns?: number} = process.stdout): number | undefined {
  if (!stream.isTTY) return undefined
  return stream.columns && stream.columns > 0 ? stream.columns : FALLBACK_COLUMNS
}

const visibleIndent = (line: string): number => /^ */.exec(stripVTControlCharacters(line))![0].length

/**
 * Wrap one line at `width`. Continuation rows are indented by `hang` columns; by default the
 * line's own indentation plus 2, which puts them under the text after a mark ("● ", "✔ ", "→ ").
 */
export function wrapLine(line: string, width: number | undefined, hang?: number): string {
  if (width === undefined || stripVTControlCharacters(line).length <= width) return line
  const indent = visibleIndent(line)
  const continuation = hang ?? indent + 2
  if (width - continuation < MIN_TEXT_COLUMNS || width - indent < MIN_TEXT_COLUMNS) return line
  const options = {hard: true, trim: true}
  // The first row keeps the line's own indentation and the full width; the rest are re-wrapped
  // at the width left after the hang (wrap-ansi trims each row, the indentation is put back).
  const [first = '', ...rest] = wrapAnsi(line.replace(/^ */, ''), width - indent, options).split('\n')
  const continued = rest.length > 0 ? wrapAnsi(rest.join(' '), width - continuation, options).split('\n') : []
  return [`${' '.repeat(indent)}${first}`, ...continued.map((row) => `${' '.repeat(continuation)}${row}`)].join('\n')
}

/** Wrap every line of `text` (see wrapLine); `hang` picks a line's continuation indent, or undefined for the default. */
export function wrapText(text: string, width: number | undefined, hang?: (line: string) => number | undefined): string {
  if (width === undefined) return text
  return text
    .split('\n')
    .map((line) => wrapLine(line, width, hang?.(line)))
    .join('\n')
}

/**
 * Go's text/tabwriter as the tools configure it: every tab-terminated cell of a column is padded
 * to the column's widest cell plus `padding` (at least `minWidth`); the last cell is not padded.
 */
export function tabulate(rows: readonly (readonly string[])[], options: {minWidth: number; padding: number}): string {
  const widths: number[] = []
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, Math.max(cell.length + options.padding, options.minWidth))
    })
  }
  return rows.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column] ?? 0) : cell)).join('') + '\n').join('')
}

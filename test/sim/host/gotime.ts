/** Go's time.RFC3339 as k3d's logs print it (local time zone, like the real binary). */

function pad(value: number): string {
  return String(value).padStart(2, '0')
}

function offsetText(date: Date, separator: string): string {
  const offset = -date.getTimezoneOffset()
  const abs = Math.abs(offset)
  return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`
}

function localParts(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** time.RFC3339: "2006-01-02T15:04:05Z07:00". */
export function goRfc3339(date: Date): string {
  const zone = date.getTimezoneOffset() === 0 ? 'Z' : offsetText(date, ':')
  return `${localParts(date)}${zone}`
}

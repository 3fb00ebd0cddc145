/** Go's time formats as the tools print them (local time zone, like the real binaries). */

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

function offsetText(date: Date, separator: string): string {
  const offset = -date.getTimezoneOffset()
  const abs = Math.abs(offset)
  return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`
}

function localParts(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** time.RFC3339 ("2006-01-02T15:04:05Z07:00"), or RFC3339Nano with `fraction`. */
export function goRfc3339(date: Date, fraction = false): string {
  const ms = date.getMilliseconds()
  const fractionText = fraction && ms > 0 ? `.${pad(ms, 3).replace(/0+$/, '')}` : ''
  const zone = date.getTimezoneOffset() === 0 ? 'Z' : offsetText(date, ':')
  return `${localParts(date)}${fractionText}${zone}`
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** time.ANSIC: "Mon Jan _2 15:04:05 2006". */
export function goAnsic(date: Date): string {
  return `${days[date.getDay()]} ${months[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${date.getFullYear()}`
}

/** Go's default Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST". */
export function goTimeString(date: Date): string {
  const ms = date.getMilliseconds()
  const zoneName = new Intl.DateTimeFormat('en-US', {timeZoneName: 'short'}).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC'
  return `${localParts(date).replace('T', ' ')}${ms > 0 ? `.${pad(ms, 3).replace(/0+$/, '')}` : ''} ${offsetText(date, '')} ${zoneName === 'GMT' ? 'UTC' : zoneName}`
}

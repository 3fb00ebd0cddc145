/**
 * The small part of Go's text/template that `--format` flags are used with in practice:
 * literal text, `{{.Field.Sub}}` and `{{json .Field}}`. Anything else is reported as a parse
 * error, as docker does for templates it cannot parse.
 */
import {scalarText} from '../apiserver/json.js'

export class TemplateError extends Error {}

function lookup(data: unknown, path: string): unknown {
  if (path === '.') return data
  let value: unknown = data
  for (const key of path.slice(1).split('.')) {
    if (value === null || typeof value !== 'object') throw new TemplateError(`can't evaluate field ${key}`)
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

// How Go's fmt prints a value with %v (enough for the scalar fields people format).
function goPrint(value: unknown): string {
  if (value === undefined || value === null) return '<no value>'
  if (typeof value === 'object')
    return Array.isArray(value)
      ? `[${value.map(goPrint).join(' ')}]`
      : `map[${Object.entries(value)
          .map(([k, v]) => `${k}:${goPrint(v)}`)
          .join(' ')}]`
  return scalarText(value)
}

export function renderGoTemplate(template: string, data: unknown): string {
  return template.replaceAll(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, action: string) => {
    const json = /^json\s+(\.[\w.]*)$/.exec(action)
    if (json) return JSON.stringify(lookup(data, json[1] as string) ?? null)
    if (/^\.[\w.]*$/.test(action)) return goPrint(lookup(data, action))
    throw new TemplateError(`template: :1: function "${action.split(/\s/)[0]}" not defined`)
  })
}

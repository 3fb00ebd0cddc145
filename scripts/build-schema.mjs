#!/usr/bin/env node
// Writes schema/devctl.schema.json from the same zod schema devctl validates with (run after tsc).
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** @type {typeof import('../src/config/schema.js')} */
const {configJsonSchema} = await import(join(root, 'dist', 'src', 'config', 'schema.js'))
await mkdir(join(root, 'schema'), {recursive: true})
await writeFile(join(root, 'schema', 'devctl.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`)

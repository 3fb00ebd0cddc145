import {isAlias, isPair, isScalar, isSeq, parseDocument, visit} from 'yaml'
import {describe, expect, it} from 'vitest'

import {scaffoldContext} from '../../src/scaffold/context.js'
import {loadPreset} from '../../src/scaffold/preset.js'
import {applyPlan, buildValuesDocument, planValues} from '../../src/scaffold/values-document.js'

const answers = {project: 'shop', namespace: 'shop', postgres: true, redis: true}

/** Every alias in the document, with the key path it sits at (list items by index). */
function aliasSites(text: string): Array<{path: string; anchor: string}> {
  const sites: Array<{path: string; anchor: string}> = []
  visit(parseDocument(text), {
    Alias(_, node, ancestors) {
      const chain = [...ancestors, node]
      const keys: string[] = []
      chain.forEach((ancestor, i) => {
        if (isPair(ancestor) && isScalar(ancestor.key)) keys.push(String(ancestor.key.value))
        if (isSeq(ancestor)) keys.push(String(ancestor.items.indexOf(chain[i + 1])))
      })
      sites.push({path: keys.join('.'), anchor: node.source})
    },
  })
  return sites
}

function get(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], data)
}

describe('values file with shared anchors', () => {
  it('defines each shared setting once with an anchor and reuses it with aliases', async () => {
    const preset = await loadPreset('web-worker')
    const text = buildValuesDocument(planValues(preset, scaffoldContext(answers))).toString()

    expect(text).toContain('tag: &imageTag "6.7.1"')
    expect(text).toContain('host: &dbHost devctl-postgres')
    expect(text).toContain('secret: &redisSecret devctl-redis')
    expect(text).toMatch(/^ {2}tag: \*imageTag$/m)
    expect(text).toMatch(/^ {2}DATABASE_HOST: \*dbHost$/m)
    expect(text).toMatch(/^ {2}- secretName: \*dbSecret$/m)
    // Each anchor is defined exactly once.
    for (const anchor of text.match(/&\w+/g) ?? []) expect(text.split(anchor).length - 1).toBe(1)
  })

  it('gives identical values at every alias site and its anchor (toJS)', async () => {
    const preset = await loadPreset('web-worker')
    const plan = planValues(preset, scaffoldContext(answers))
    const text = buildValuesDocument(plan).toString()
    const data: unknown = parseDocument(text).toJS()
    const sites = aliasSites(text)
    expect(sites.length).toBe(plan.wiring.length)
    for (const site of sites) {
      const setting = plan.shared.find((s) => s.anchor === site.anchor)!
      const anchorValue = get(data, `shared.${setting.path}`)
      expect(anchorValue).toBe(setting.resolved)
      expect(get(data, site.path)).toBe(anchorValue)
    }
    expect(data).toHaveProperty('envFromSecrets', [{secretName: 'devctl-postgres'}, {secretName: 'devctl-redis'}])
  })

  it('leaves out the settings of a disabled service, and their wiring', async () => {
    const preset = await loadPreset('web-worker')
    const text = buildValuesDocument(planValues(preset, scaffoldContext({...answers, redis: false}))).toString()
    expect(text).not.toContain('redis')
    expect(parseDocument(text).toJS()).toHaveProperty('envFromSecrets', [{secretName: 'devctl-postgres'}])
  })

  it('edits in place on update: new values at the anchors, user comments and keys kept', async () => {
    const preset = await loadPreset('web-worker')
    const original = buildValuesDocument(planValues(preset, scaffoldContext(answers))).toString()
    const edited = original
      .replace('shared:\n', '# team note: keep this\nshared:\n')
      .replace('  DATABASE_HOST: *dbHost\n', '  DATABASE_HOST: *dbHost\n  FEATURE_FLAG: "on" # ours\n')
      .concat('resources:\n  limits: {memory: 256Mi}\n')
    const doc = parseDocument(edited)
    const {changed} = applyPlan(doc, planValues(preset, scaffoldContext({...answers, project: 'shop2'})))
    expect(changed).toEqual(['shared.database.name', 'shared.database.user'])
    const text = doc.toString()
    expect(text).toContain('# team note: keep this')
    expect(text).toContain('FEATURE_FLAG: "on" # ours')
    expect(text).toContain('name: &dbName shop2')
    expect(text).toMatch(/^ {2}DATABASE_NAME: \*dbName$/m)
    const data: unknown = doc.toJS()
    expect(data).toHaveProperty('env.DATABASE_NAME', 'shop2')
    expect(data).toHaveProperty('resources', {limits: {memory: '256Mi'}})
    // A second update with the same answers changes nothing.
    expect(applyPlan(doc, planValues(preset, scaffoldContext({...answers, project: 'shop2'}))).changed).toEqual([])
  })

  it('re-adds wiring the user deleted without duplicating list entries', async () => {
    const preset = await loadPreset('web-worker')
    const doc = parseDocument(buildValuesDocument(planValues(preset, scaffoldContext(answers))).toString())
    doc.deleteIn(['env', 'REDIS_HOST'])
    const {changed} = applyPlan(doc, planValues(preset, scaffoldContext(answers)))
    expect(changed).toEqual(['env.REDIS_HOST'])
    expect(doc.toJS()).toHaveProperty('envFromSecrets.length', 2)
    expect(isAlias(doc.getIn(['env', 'REDIS_HOST'], true))).toBe(true)
  })

  it('wires a bring-your-own chart through the value paths the user named', async () => {
    const preset = await loadPreset('bring-your-own')
    const wiring = [
      {path: 'global.externalDatabase.host', anchor: 'dbHost'},
      {path: 'global.externalDatabase.existingSecret', anchor: 'dbSecret'},
    ]
    const text = buildValuesDocument(planValues(preset, scaffoldContext(answers), wiring)).toString()
    expect(text).toMatch(/^ {4}host: \*dbHost$/m)
    expect(parseDocument(text).toJS()).toHaveProperty('global.externalDatabase', {host: 'devctl-postgres', existingSecret: 'devctl-postgres'})
  })
})

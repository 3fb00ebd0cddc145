/** Checks at devctl's edge: durations a timer can wait, image tags, chart versions, YAML aliases. */
import {describe, expect, it} from 'vitest'

import {durationFlagValue, isWaitableDuration, MAX_DURATION_MS, parseDuration} from '../../src/config/duration.js'
import {chartVersionFlagValue, imageTagFlagValue} from '../../src/config/overrides.js'
import {parseYamlText, toPlainData} from '../../src/config/yaml-file.js'

describe('durations', () => {
  it.each([
    ['5m', true],
    ['596h', true],
    ['0s', false],
    ['597h', false],
    ['600h', false],
    [`${MAX_DURATION_MS}ms`, true],
    [`${MAX_DURATION_MS + 1}ms`, false],
  ])('%s can be waited for: %s', (text, waitable) => {
    expect(isWaitableDuration(text)).toBe(waitable)
  })

  it('a flag longer than a timer can wait is a usage error naming the limit', () => {
    expect(() => durationFlagValue('--timeout', '600h')).toThrow('--timeout "600h" is longer than devctl can wait: at most 596h (about 24 days).')
    expect(() => durationFlagValue('--timeout', 'soon')).toThrow('--timeout "soon" is not a duration.')
    expect(durationFlagValue('--timeout', '1h30m')).toBe('1h30m')
    expect(parseDuration('596h')).toBeLessThanOrEqual(MAX_DURATION_MS)
  })
})

describe('--image-tag', () => {
  it.each(['1.4.2', 'v1', 'main-3f2a1c9', '_x', 'a'.repeat(128)])('accepts %s', (tag) => {
    expect(imageTagFlagValue(tag)).toBe(tag)
  })

  it.each(['bad tag!', '-rc', '.hidden', 'a'.repeat(129), 'x:y', 'x/y', ''])('refuses %j', (tag) => {
    expect(() => imageTagFlagValue(tag)).toThrow(/is not an image tag/)
  })
})

describe('--chart-version', () => {
  const repo = {repo: 'https://charts.example.com', name: 'app'}
  it('accepts a version or a range for a repository chart', () => {
    expect(chartVersionFlagValue('1.2.3', repo)).toBe('1.2.3')
    expect(chartVersionFlagValue('~1.2', repo)).toBe('~1.2')
  })

  it('refuses what is not a version, and a version for a chart directory', () => {
    expect(() => chartVersionFlagValue('not-a-version', repo)).toThrow('--chart-version "not-a-version" is not a chart version or semver range.')
    expect(() => chartVersionFlagValue('1.2.3', {path: './chart'})).toThrow(/app\.chart in devctl\.yaml is the directory \.\/chart/)
  })
})

describe('YAML aliases', () => {
  const data = (text: string) => toPlainData(parseYamlText('/p/values.yaml', text, 'values file'), 'values file')

  it('an alias before its anchor: says so and where', () => {
    expect(() => data('a: *tag\nb: &tag 1\n')).toThrow(
      'values.yaml:1:4: the values file uses the alias *tag, but no anchor &tag is defined before it. &tag is defined only after it. Anchors in this file: &tag.',
    )
  })

  it('an alias in a file without anchors', () => {
    expect(() => data('a: *tag\n')).toThrow('values.yaml:1:4: the values file uses the alias *tag, but no anchor &tag is defined before it. The file defines no anchors.')
  })

  it('resolved aliases, nested ones and a redefined anchor read as before', () => {
    expect(data('base: &b {x: 1}\nc: [*b]\nt: &t 1\nu: *t\nt2: &t 2\nv: *t\n')).toEqual({base: {x: 1}, c: [{x: 1}], t: 1, u: 1, t2: 2, v: 2})
  })
})

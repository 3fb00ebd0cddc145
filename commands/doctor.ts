import {Flags} from '@oclif/core'

import {DevctlCommand} from '../src/base-command.js'
import {runDoctor} from '../src/doctor/doctor.js'
import {detectPlatform} from '../src/doctor/platform.js'
import type {DoctorResult} from '../src/doctor/types.js'
import {ChecksFailedError} from '../src/errors.js'
import {createDoctorView, renderDoctorSummary} from '../src/ui/doctor-view.js'
import {terminalWidth, wrapText} from '../src/ui/wrap.js'

/** Used when package.json has no engines.node (it always should). */
const FALLBACK_NODE_RANGE = '>=20.12.0'

export default class Doctor extends DevctlCommand<typeof Doctor> {
  static override summary = 'Check this machine for devctl: Node.js, Docker, k3d, helm, ports, disk, devctl.yaml, the cluster.'
  static override description = `Each check prints pass, warn or fail in one line, and what to do about it (install hints for macOS, Debian/Ubuntu and others; devctl never installs anything itself).
--fix applies the fixes devctl can make itself, asking before each: start a stopped cluster, move a busy host port to a free one in devctl.yaml (comments kept), generate .devctl/secrets.yaml, make .devctl and its secrets private again.
Exits 0 when nothing fails (warnings are fine) and 11 when a check fails.`

  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --fix            # start a stopped cluster, move a busy port, ... (asks first)',
    '<%= config.bin %> doctor --fix --yes      # the same, without asking',
    `<%= config.bin %> doctor --json | jq -c '.result.checks[] | select(.status != "pass")'`,
  ]

  static override enableJsonFlag = true

  static override flags = {
    fix: Flags.boolean({description: 'Apply the fixes devctl can make itself, asking before each.'}),
    yes: Flags.boolean({char: 'y', description: 'With --fix: apply them without asking (needed where devctl cannot ask: CI, --json, --no-input).', dependsOn: ['fix']}),
  }

  async run(): Promise<DoctorResult> {
    const columns = terminalWidth()
    const write = (text: string) => process.stdout.write(text)
    const result = await runDoctor(
      {
        cwd: process.cwd(),
        configPath: this.flags.config,
        platform: await detectPlatform(),
        node: {version: process.versions.node, required: this.requiredNodeRange()},
        loadKube: () => import('../src/kube/client.js'),
        signal: this.interrupts.signal,
        fix: this.flags.fix,
      },
      {
        emit: this.jsonEnabled() ? () => {} : createDoctorView(this.theme, write, columns),
        confirm: (message) => this.confirmer(this.flags.yes)({flag: '--yes', message, details: []}),
        signal: this.interrupts.signal,
      },
    )
    if (result.status === 'ok') {
      if (!this.jsonEnabled()) write(wrapText(renderDoctorSummary(result, this.theme), columns))
      return result
    }
    // Scripts get the full report in the --json result record, and the exit code says it failed.
    this.partialResult = result
    if (!this.jsonEnabled()) write(wrapText(renderDoctorSummary(result, this.theme), columns))
    const failed = result.checks.filter((check) => check.status === 'fail')
    throw new ChecksFailedError(`devctl doctor: ${failed.length === 1 ? '1 check' : `${failed.length} checks`} failed (${failed.map((check) => check.title).join(', ')}).`, {
      hint: 'Do what the → lines above say, then run `devctl doctor` again.',
    })
  }

  private requiredNodeRange(): string {
    const engines: unknown = this.config.pjson.engines
    const node = engines !== null && typeof engines === 'object' && 'node' in engines ? engines.node : undefined
    return typeof node === 'string' ? node : FALLBACK_NODE_RANGE
  }
}

/**
 * k3d's logging: logrus TextFormatter with ForceColors (so colours even into a pipe, unless
 * LOG_COLORS=false), info/debug on stdout and warnings/errors on stderr, exactly as k3d v5.8
 * sets it up in cmd/root.go.
 */
import {type Outcome, ToolExit, type ToolIO} from './exec.js'
import {goRfc3339} from './gotime.js'

type Level = 'debug' | 'info' | 'warning' | 'error' | 'fatal'

const levelColour: Record<Level, number> = {debug: 37, info: 36, warning: 33, error: 31, fatal: 31}
const levelText: Record<Level, string> = {debug: 'DEBU', info: 'INFO', warning: 'WARN', error: 'ERRO', fatal: 'FATA'}

// logrus quotes a value unless every character is in this set.
function logfmtValue(text: string): string {
  return /^[\w\-./@^+]+$/.test(text) ? text : JSON.stringify(text)
}

export class K3dLog {
  private readonly started = Date.now()
  private readonly coloured: boolean

  constructor(
    private readonly io: ToolIO,
    env: Record<string, string>,
  ) {
    this.coloured = !['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(env.LOG_COLORS ?? '')
  }

  private line(level: Level, message: string): string {
    const text = message.replace(/\n$/, '')
    if (!this.coloured) return `time=${JSON.stringify(goRfc3339(new Date()))} level=${level} msg=${logfmtValue(text)}\n`
    const seconds = String(Math.floor((Date.now() - this.started) / 1000)).padStart(4, '0')
    return `\u001b[${levelColour[level]}m${levelText[level]}\u001b[0m[${seconds}] ${text.padEnd(44)} \n`
  }

  info(message: string): void {
    this.io.stdout(this.line('info', message))
  }

  warn(message: string): void {
    this.io.stderr(this.line('warning', message))
  }

  error(message: string): void {
    this.io.stderr(this.line('error', message))
  }

  /** logrus Fatal: log, then exit 1. */
  fatal(message: string): never {
    this.io.stderr(this.line('fatal', message))
    const outcome: Outcome = {exit: 1}
    throw new ToolExit(outcome)
  }
}

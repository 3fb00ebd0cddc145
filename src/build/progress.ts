/**
 * `docker build` output, condensed: one line per build step as it ends ("[2/3] COPY . /app
 * 0.4s", "cached", "failed"), a note for what runs now, and — when the build fails — the facts
 * needed to explain it: the failing step, its last lines, the Dockerfile line and the error.
 * Reads BuildKit's plain progress (`#5 [2/3] COPY . /app`, `#5 DONE 0.4s`, then a summary
 * block) and the legacy builder's (`Step 2/3 : COPY . /app`), the two a Docker CLI may print.
 */

/** What the parser reports as it reads. */
export interface ProgressOutput {
  /** A build step ended: one condensed line. */
  step(line: string): void
  /** What runs now (transient). */
  activity(note: string): void
}

export interface BuildFailureFacts {
  /** The failing step as the builder named it: `[2/3] COPY missing.txt /m`, or a legacy `COPY missing.txt /m`. */
  step?: string
  /** Legacy builder: the failing step's position among the Dockerfile's instructions (1-based). */
  instructionIndex?: number
  /** The Dockerfile line the builder named (`Dockerfile:3`, `parse error line 3`). */
  dockerfileLine?: number
  /** The failing step's last output lines. */
  lastLines: string[]
  /** The builder's error, most specific line first. */
  error: string
}

const LAST_LINES = 10
/** Steps not worth a line of their own unless they fail: the builder's own bookkeeping. */
const BOOKKEEPING = /^\[(internal|auth)\]|^exporting to image|^naming to|^resolving provenance|^building with /

interface Vertex {
  name: string
  logs: string[]
  ended: boolean
  error?: string
}

export class BuildProgress {
  private readonly vertices = new Map<string, Vertex>()
  /** Legacy builder: the step being run. */
  private legacy?: {index: number; text: string; logs: string[]; cached: boolean}
  /** Lines outside BuildKit's numbered progress: its failure summary, or the legacy builder's errors. */
  private readonly trailer: string[] = []
  private readonly errorLines: string[] = []
  private failedVertex?: Vertex
  private failedLegacy?: {index: number; text: string; logs: string[]}

  constructor(private readonly output: ProgressOutput) {}

  /** One line of the builder's output; `stream` tells the legacy builder's errors (stderr) from its progress. */
  push(raw: string, stream: 'stdout' | 'stderr'): void {
    const line = raw.replace(/\r$/, '')
    const numbered = /^#(\d+) (.*)$/.exec(line)
    if (numbered) return this.buildkit(numbered[1]!, numbered[2]!)
    const step = /^Step (\d+)\/\d+ : (.*)$/.exec(line)
    if (step) return this.legacyStep(Number(step[1]), step[2]!)
    if (line.trim() === '' || /^(DEPRECATED: The legacy builder|\s+Install the buildx component|\s+https:\/\/docs\.docker\.com\/go\/buildx)/.test(line)) return
    if (this.legacy && stream === 'stdout') return this.legacyOutput(line)
    this.trailer.push(line)
    if (stream === 'stderr') this.errorLines.push(line)
  }

  private buildkit(id: string, text: string): void {
    let vertex = this.vertices.get(id)
    if (!vertex) {
      vertex = {name: text, logs: [], ended: false}
      this.vertices.set(id, vertex)
      if (!BOOKKEEPING.test(text)) this.output.activity(text)
      return
    }
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(text)
    if (done) return this.endVertex(vertex, `${formatSeconds(Number(done[1]))}`)
    if (text === 'CACHED') return this.endVertex(vertex, 'cached')
    if (text === 'CANCELED') return this.endVertex(vertex, 'canceled')
    const error = /^ERROR:? (.*)$/.exec(text)
    if (error) {
      vertex.error = error[1]!
      this.failedVertex ??= vertex
      return this.endVertex(vertex, 'failed')
    }
    // An older BuildKit names each step's digest on its second line.
    if (/^sha256:[a-f0-9]{64}$/.test(text)) return
    // "0.234 go: downloading ...": a command's output, after its timestamp.
    const log = /^\d+\.\d+ (.*)$/.exec(text)
    vertex.logs = [...vertex.logs, log ? log[1]! : text].slice(-LAST_LINES)
    if (!BOOKKEEPING.test(vertex.name)) this.output.activity(`${vertex.name}: ${log ? log[1]! : text}`)
  }

  private endVertex(vertex: Vertex, how: string): void {
    if (vertex.ended) return
    vertex.ended = true
    // A base image's digest is noise in a one-line summary.
    if (how === 'failed' || !BOOKKEEPING.test(vertex.name)) this.output.step(`${vertex.name.replace(/@sha256:[a-f0-9]{64}/, '')}  ${how}`)
  }

  private legacyStep(index: number, text: string): void {
    this.endLegacy()
    this.legacy = {index, text, logs: [], cached: false}
    this.output.activity(text)
  }

  private legacyOutput(line: string): void {
    const current = this.legacy!
    if (line === ' ---> Using cache') current.cached = true
    else if (/^Successfully (built|tagged) /.test(line)) this.endLegacy()
    else if (!/^ ---> |^Removing intermediate container /.test(line)) {
      current.logs = [...current.logs, line].slice(-LAST_LINES)
      this.output.activity(`${current.text}: ${line}`)
    }
  }

  private endLegacy(): void {
    if (!this.legacy) return
    this.output.step(`[${this.legacy.index}] ${this.legacy.text}  ${this.legacy.cached ? 'cached' : 'done'}`)
    this.legacy = undefined
  }

  /** What the output says about a failed build. */
  failure(): BuildFailureFacts {
    // The legacy builder ends a failing step with nothing but the error on stderr.
    if (this.legacy) {
      this.failedLegacy = this.legacy
      this.output.step(`[${this.legacy.index}] ${this.legacy.text}  failed`)
      this.legacy = undefined
    }
    const located = this.trailer.map((line) => /^[\w./-]+:(\d+)$/.exec(line)?.[1]).find((line) => line !== undefined)
    const parseError = /parse error (?:on )?line (\d+)/.exec([...this.errorLines, ...this.trailer].join('\n'))?.[1]
    // The builder's last word is its error ("ERROR: failed to solve: ...", "COPY failed: ...").
    const error = (this.errorLines.at(-1) ?? this.failedVertex?.error ?? this.trailer.at(-1) ?? 'docker build failed without saying why').replace(/^ERROR:?\s*/, '')
    return {
      step: this.failedVertex?.name ?? this.failedLegacy?.text,
      instructionIndex: this.failedLegacy?.index,
      dockerfileLine: located !== undefined ? Number(located) : parseError !== undefined ? Number(parseError) : undefined,
      lastLines: this.failedVertex?.logs ?? this.failedLegacy?.logs ?? [],
      error,
    }
  }
}

function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(1)}s`
}

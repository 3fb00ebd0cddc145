/**
 * A Dockerfile's instructions with the line each starts on, read the way the builder reads
 * them (comments, parser directives, `\` continuations, heredocs): to say which line of the
 * Dockerfile a failed build step is, whichever builder (BuildKit or the legacy one) ran it.
 */

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number
  /** The keyword in upper case: FROM, COPY, RUN, ... */
  keyword: string
  /** The instruction on one line, continuations joined, whitespace collapsed. */
  text: string
}

/** `# escape=`` ` switches the line-continuation character (Windows Dockerfiles). */
function escapeCharacter(lines: string[]): string {
  for (const line of lines) {
    const directive = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(line)
    if (!directive) break
    if (directive[1]!.toLowerCase() === 'escape') return directive[2]!
  }
  return '\\'
}

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/)
  const escape = escapeCharacter(lines)
  const instructions: Instruction[] = []
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim()
    if (first === '' || first.startsWith('#')) continue
    const start = i
    const parts: string[] = []
    let current = first
    // Continuations; comment lines inside an instruction are skipped, as the builder does.
    while (current.endsWith(escape) && i + 1 < lines.length) {
      parts.push(current.slice(0, -escape.length))
      current = lines[++i]!.trim()
      while (current.startsWith('#') && i + 1 < lines.length) current = lines[++i]!.trim()
    }
    parts.push(current)
    const joined = parts.join(' ')
    // Heredocs (RUN <<EOF ... EOF): the body is part of the instruction, not instructions.
    for (const heredoc of joined.matchAll(/<<-?(["']?)([A-Za-z_][\w-]*)\1/g)) {
      const terminator = heredoc[2]!
      while (i + 1 < lines.length && lines[i + 1]!.trim() !== terminator) i++
      if (i + 1 < lines.length) i++
    }
    const keyword = /^(\S+)/.exec(joined)?.[1]?.toUpperCase() ?? ''
    instructions.push({line: start + 1, keyword, text: collapse(joined)})
  }
  return instructions
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/**
 * The instruction a BuildKit step names (`[2/3] COPY . /app`, `[build 2/4] RUN go build`), or a
 * base image's metadata step (`[internal] load metadata for docker.io/library/alpine:3.20`).
 */
export function instructionOfStep(instructions: Instruction[], step: string): Instruction | undefined {
  const metadata = /load metadata for (\S+)/.exec(step)?.[1]
  if (metadata) return instructions.find((i) => i.keyword === 'FROM' && sameImage(baseImageOf(i), metadata))
  const named = collapse(step.replace(/^\[[^\]]*\]\s*/, ''))
  return instructions.find((i) => i.text === named) ?? instructions.find((i) => named.startsWith(i.text) || i.text.startsWith(named))
}

/** The image a FROM instruction names (`FROM --platform=$X golang:1.23 AS build` → golang:1.23). */
export function baseImageOf(instruction: Instruction): string {
  return instruction.text.split(' ').find((word, index) => index > 0 && !word.startsWith('--')) ?? ''
}

/** `alpine` and `docker.io/library/alpine:latest` are the same image. */
export function sameImage(a: string, b: string): boolean {
  const canonical = (image: string) => {
    const short = image.replace(/^docker\.io\//, '').replace(/^library\//, '')
    return /:[^/]+$|@/.test(short) ? short : `${short}:latest`
  }
  return canonical(a) === canonical(b)
}

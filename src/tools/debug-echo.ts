/**
 * --debug's echo of every command devctl runs (already masked). Kept apart from process.ts so
 * the base command can switch it on without loading execa.
 */
type DebugSink = (line: string) => void
let sink: DebugSink | undefined

export function setDebugSink(next: DebugSink | undefined): void {
  sink = next
}

export function echoCommand(command: string): void {
  sink?.(`$ ${command}`)
}

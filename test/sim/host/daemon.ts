/**
 * The simulator daemon: one HTTP server on 127.0.0.1 that the k3d/docker shims talk to
 * (`POST /sim/v1/exec`, NDJSON both ways, see bin/shim.js), that the helm wrapper tells what the
 * real helm was asked (`POST /sim/v1/record`, see bin/helm), and that fixtures and people can
 * inspect and steer (`/sim/v1/state`, `/sim/v1/commands`, `/sim/v1/faults`, `/sim/v1/scenario`).
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {type CommandRecord, type Invocation, type Outcome, type StandInName, type StandInSignal, type ToolIO, ToolExit, type ToolName} from './exec.js'
import {type Fault, type SimHost} from './host.js'

type ToolRunner = (invocation: Invocation, io: ToolIO, host: SimHost) => Promise<number>

export interface Daemon {
  readonly url: string
  commands(tool?: ToolName): CommandRecord[]
  close(): Promise<void>
}

/** Splits a request body into NDJSON values as they arrive. */
async function* ndjson(req: IncomingMessage): AsyncGenerator<Record<string, unknown>> {
  let buffered = ''
  req.setEncoding('utf8')
  for await (const chunk of req) {
    buffered += chunk as string
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line.trim()) yield JSON.parse(line) as Record<string, unknown>
    }
  }
}

/** Netstrings ("5:hello,"), as bin/helm sends its working directory and arguments. */
function parseNetstrings(body: Buffer): string[] {
  const items: string[] = []
  let offset = 0
  while (offset < body.length) {
    const colon = body.indexOf(':', offset)
    const length = Number(body.subarray(offset, colon).toString('latin1'))
    const end = colon + 1 + length
    if (colon < 0 || !Number.isInteger(length) || body[end] !== 0x2c) throw new Error(`malformed netstring at byte ${offset}`)
    items.push(body.subarray(colon + 1, end).toString('utf8'))
    offset = end + 1
  }
  return items
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = (await readBody(req)).toString('utf8')
  return body ? JSON.parse(body) : undefined
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(`${JSON.stringify(body)}\n`)
}

export async function startDaemon(host: SimHost, runners: Record<StandInName, ToolRunner>): Promise<Daemon> {
  const log: CommandRecord[] = []
  const running = new Set<AbortController>()

  async function exec(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const lines = ndjson(req)
    const first = await lines.next()
    if (first.done) return sendJson(res, 400, {error: 'empty exec request'})
    const invocation = first.value as unknown as Invocation
    const record: CommandRecord = {tool: invocation.tool, argv: invocation.argv, cwd: invocation.cwd, startedAt: new Date().toISOString()}
    log.push(record)

    const abandon = new AbortController()
    running.add(abandon)
    let finished = false
    let stdinWaiter: ((text: string) => void) | undefined
    let stdinPromise: Promise<string> | undefined

    res.writeHead(200, {'content-type': 'application/x-ndjson'})
    const send = (frame: object): void => {
      if (!finished) res.write(`${JSON.stringify(frame)}\n`)
    }
    const end = (outcome: Outcome | {abandoned: true}): void => {
      if (finished) return
      if (!('abandoned' in outcome)) send(outcome)
      finished = true
      record.outcome = outcome
      record.endedAt = new Date().toISOString()
      running.delete(abandon)
      res.end()
    }

    // The shim's later messages: stdin it was asked for, and the user's signals.
    void (async () => {
      try {
        for await (const message of lines) {
          if (typeof message.stdin === 'string') stdinWaiter?.(message.stdin)
          const signal = message.signal as StandInSignal | undefined
          if (signal === 'SIGINT' || signal === 'SIGTERM') {
            abandon.abort(new ToolExit({signal}))
            end({signal})
          }
        }
      } catch {
        // A broken connection is handled by the close listener below.
      }
    })()
    res.on('close', () => {
      if (finished) return
      abandon.abort(new Error('the caller went away'))
      end({abandoned: true})
    })

    const io: ToolIO = {
      stdout: (data) => send({stream: 'stdout', data}),
      stderr: (data) => send({stream: 'stderr', data}),
      readStdin: () => {
        stdinPromise ??= new Promise<string>((resolve) => {
          stdinWaiter = resolve
          send({stdin: 'read'})
        })
        return stdinPromise
      },
      abandoned: abandon.signal,
    }

    try {
      await host.holdIfHanging(invocation, abandon.signal)
      if (abandon.signal.aborted) return
      const code = await runners[invocation.tool](invocation, io, host)
      end({exit: code})
    } catch (error) {
      if (error instanceof ToolExit) end(error.outcome)
      else if (abandon.signal.aborted) end({abandoned: true})
      else {
        io.stderr(`devctl simulator: ${invocation.tool} failed inside the simulator: ${(error as Error).stack ?? String(error)}\n`)
        end({exit: 1})
      }
    }
  }

  /**
   * A real tool about to run (the helm wrapper, just before it becomes helm). The connection
   * stays open for as long as the tool runs, so its end is known; how it ended is not.
   */
  async function record(req: IncomingMessage, res: ServerResponse, tool: ToolName): Promise<void> {
    const [cwd = '', ...argv] = parseNetstrings(await readBody(req))
    const entry: CommandRecord = {tool, argv, cwd, startedAt: new Date().toISOString()}
    log.push(entry)
    res.writeHead(200, {'content-type': 'text/plain'})
    res.flushHeaders()
    res.on('close', () => (entry.endedAt = new Date().toISOString()))
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://daemon')
    const key = `${req.method} ${url.pathname}`
    switch (key) {
      case 'POST /sim/v1/exec':
        return exec(req, res)
      case 'POST /sim/v1/record': {
        const tool = url.searchParams.get('tool')
        if (tool !== 'helm') return sendJson(res, 400, {error: `only helm runs for real, not ${tool}`})
        return record(req, res, tool)
      }
      case 'GET /sim/v1/state':
        return sendJson(res, 200, host.snapshot())
      case 'GET /sim/v1/commands': {
        const tool = url.searchParams.get('tool')
        return sendJson(
          res,
          200,
          log.filter((r) => !tool || r.tool === tool),
        )
      }
      case 'POST /sim/v1/faults':
        await host.injectFault((await readJson(req)) as Fault)
        return sendJson(res, 200, host.snapshot())
      case 'POST /sim/v1/scenario':
        await host.setScenario(await readJson(req))
        return sendJson(res, 200, host.snapshot())
      default:
        return sendJson(res, 404, {error: `no route ${key}`})
    }
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 400, {error: (error as Error).message})
      else res.end()
    })
  })
  // Tool runs last as long as the tool does (helm --wait, a person watching pods come up).
  server.requestTimeout = 0
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    commands: (tool) => log.filter((r) => !tool || r.tool === tool).map((r) => ({...r, argv: [...r.argv]})),
    async close() {
      for (const run of running) run.abort(new Error('the simulator is stopping'))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

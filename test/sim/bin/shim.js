// The body of the stand-in k3d and docker executables (helm is the real one, see ./helm):
// forward the invocation to the simulator daemon ($DEVCTL_SIM_DAEMON), stream its output back
// and exit as it says.
// Protocol (both directions NDJSON over one long-lived HTTP request):
//   shim → daemon: {tool, argv, cwd, env, stdoutIsTTY}, later {"stdin": text} when asked,
//                  {"signal": "SIGINT"|"SIGTERM"} when the user interrupts.
//   daemon → shim: {"stream": "stdout"|"stderr", "data": text}, {"stdin": "read"},
//                  then {"exit": code} or {"signal": name} (die of that signal, like the real tool).
import {request} from 'node:http'

// Only what changes the tools' behaviour crosses over; nothing else of the caller's env.
const forwardedEnv = /^(KUBECONFIG|HOME|XDG_\w+|K3D_\w+|LOG_\w+|DOCKER_\w+|NO_COLOR|TERM)$/

// What each tool says when there is nobody to talk to (no Docker daemon behind it).
const unreachable = {
  docker: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
  k3d: "\u001b[31mFATA\u001b[0m[0000] runtime failed to list nodes: docker failed to get containers with labels 'map[app:k3d]': failed to list containers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running? \n",
}

/** @param {NodeJS.WriteStream} stream @returns {Promise<void>} */
function flush(stream) {
  return new Promise((resolve) => stream.write('', resolve))
}

/** @param {number} code */
async function finish(code) {
  await Promise.all([flush(process.stdout), flush(process.stderr)])
  process.exit(code)
}

/**
 * @typedef {{stream?: 'stdout' | 'stderr', data?: string, stdin?: 'read', exit?: number, signal?: NodeJS.Signals}} Frame one NDJSON line from the daemon
 * @param {'k3d' | 'docker'} tool
 */
export function runShim(tool) {
  const daemon = process.env.DEVCTL_SIM_DAEMON
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => forwardedEnv.test(name)))
  const invocation = {tool, argv: process.argv.slice(2), cwd: process.cwd(), env, stdoutIsTTY: Boolean(process.stdout.isTTY)}

  const fail = () => {
    process.stderr.write(unreachable[tool])
    void finish(1)
  }
  if (!daemon) return fail()

  let ended = false
  const lost = () => {
    if (ended) return
    ended = true
    process.stderr.write(`${tool}: lost the connection to the devctl simulator daemon\n`)
    void finish(1)
  }
  let answered = false
  const req = request(new URL('/sim/v1/exec', daemon), {
    method: 'POST',
    agent: false,
    headers: {'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked'},
  })
  req.on('error', () => (answered ? lost() : fail()))
  req.write(`${JSON.stringify(invocation)}\n`)

  /** @param {NodeJS.Signals} signal */
  const forwardSignal = (signal) => req.write(`${JSON.stringify({signal})}\n`)
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, forwardSignal)

  /** @param {Frame} frame */
  const handleFrame = (frame) => {
    if (frame.stream === 'stdout') process.stdout.write(frame.data)
    else if (frame.stream === 'stderr') process.stderr.write(frame.data)
    else if (frame.stdin === 'read') {
      const chunks = []
      process.stdin.on('data', (chunk) => chunks.push(chunk))
      process.stdin.on('end', () => req.write(`${JSON.stringify({stdin: Buffer.concat(chunks).toString('utf8')})}\n`))
    } else if (typeof frame.exit === 'number') {
      ended = true
      req.end()
      process.stdin.destroy()
      void finish(frame.exit)
    } else if (typeof frame.signal === 'string') {
      ended = true
      req.destroy()
      process.removeAllListeners(frame.signal)
      // flush() only resolves: nothing to catch.
      void Promise.all([flush(process.stdout), flush(process.stderr)]).then(() => process.kill(process.pid, frame.signal))
    }
  }

  req.on('response', (res) => {
    answered = true
    res.on('end', lost)
    res.on('aborted', lost)
    res.setEncoding('utf8')
    let buffered = ''
    res.on('data', (chunk) => {
      buffered += chunk
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line) handleFrame(/** @type {Frame} */ (JSON.parse(line)))
      }
    })
  })
}

/**
 * Day one: `scripts/onboard.sh` in a fresh repository, non-interactive (CI=1), with the
 * simulator's stand-ins on PATH and DEVCTL_BIN pointing at the built CLI: from nothing to a
 * running environment, and safe to run again. Also what a new person gets from the CLI itself:
 * shell completion, and examples in every command's --help.
 */
import {spawn} from 'node:child_process'
import {chmod, mkdir, readFile, readdir, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLI, REPO_ROOT, runCli, tempDir, type CliResult} from '../helpers/cli.js'
import {freePort} from '../helpers/environment.js'
import {startSimulator, type Simulator} from '../sim/index.js'

const ONBOARD = join(REPO_ROOT, 'scripts', 'onboard.sh')

function runScript(cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', [ONBOARD], {cwd, env: {...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({exitCode: code ?? 1, stdout, stderr}))
  })
}

function git(args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {cwd, stdio: 'ignore'})
    child.on('error', reject)
    child.on('close', (code) => resolve(code ?? 1))
  })
}

describe('scripts/onboard.sh (CI, simulator, built CLI)', () => {
  let sim: Simulator
  let repo: string
  let first: CliResult

  beforeAll(async () => {
    sim = await startSimulator({helmVersion: 3})
    // A fresh clone: a git repository named like a team's project, without devctl.yaml.
    repo = join(await tempDir('devctl-onboard-'), 'My Shop')
    await mkdir(join(repo, 'services', 'api'), {recursive: true})
    expect(await git(['init', '-q'], repo)).toBe(0)
    const env = {...sim.env, CI: '1', DEVCTL_BIN: CLI, ONBOARD_INIT_FLAGS: `--port ${await freePort()}:80`}
    // From a directory deep inside the repository.
    first = await runScript(join(repo, 'services', 'api'), env)
  }, 180_000)

  afterAll(async () => {
    await sim?.stop()
  })

  it('takes a fresh repository to a running environment', async () => {
    expect(first.stderr).toBe('')
    expect(first.exitCode).toBe(0)
    expect(first.stdout).toContain(`onboard: project: ${repo}\n`)
    expect(first.stdout).toMatch(/^⚠ devctl\.yaml +No devctl\.yaml in /m)
    expect(first.stdout).toContain('onboard: no devctl.yaml: devctl init --preset web-worker --name my-shop --no-input')
    expect(first.stdout).toMatch(/✔ my-shop is up in .+ — cluster my-shop \(created\), namespace my-shop\./)
    expect(first.stdout).toContain('onboard: your environment is running. Next:\n  devctl status')
    // devctl.yaml went to the repository's root, not to the directory the script ran from.
    expect(await readdir(join(repo, 'services', 'api'))).toEqual([])
    expect(await readFile(join(repo, 'devctl.yaml'), 'utf8')).toMatch(/^project: my-shop/m)
    const pods = sim.cluster('my-shop')?.list('v1', 'Pod', 'my-shop') ?? []
    expect(pods.length).toBeGreaterThan(0)
  })

  it('is safe to run again: no second init, the same files, the environment reused', async () => {
    const before = await Promise.all(['devctl.yaml', 'values.dev.yaml', '.gitignore', '.devctl/secrets.yaml'].map((f) => readFile(join(repo, f), 'utf8')))
    const again = await runScript(repo, {...sim.env, CI: '1', DEVCTL_BIN: CLI})
    expect(again.stderr).toBe('')
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('onboard: devctl.yaml is there; not running devctl init')
    expect(again.stdout).toMatch(/^✔ Cluster +k3d cluster my-shop is running/m)
    expect(again.stdout).toMatch(/cluster my-shop \(reused\)/)
    expect(again.stdout).toContain('release my-shop unchanged: helm was not called')
    const after = await Promise.all(['devctl.yaml', 'values.dev.yaml', '.gitignore', '.devctl/secrets.yaml'].map((f) => readFile(join(repo, f), 'utf8')))
    expect(after).toEqual(before)
    expect(sim.commands('k3d').filter((c) => c.argv[0] === 'cluster' && c.argv[1] === 'create')).toHaveLength(1)
  }, 120_000)

  it("stops at the doctor's first failure with its advice and exit code", async () => {
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const stopped = await runScript(repo, {...sim.env, CI: '1', DEVCTL_BIN: CLI})
      expect(stopped.exitCode).toBe(11)
      expect(stopped.stdout).toMatch(/^✖ Docker +Docker is installed but its daemon is not reachable/m)
      expect(stopped.stderr).toMatch(/onboard: stopped: `devctl doctor` found a problem\. Do what its → lines say, then run scripts\/onboard\.sh again\.\n$/)
      expect(stopped.stdout).not.toContain('devctl up')
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it("uses the project's own devctl (a devDependency already installed) when DEVCTL_BIN is not set", async () => {
    const project = join(await tempDir('devctl-onboard-dep-'), 'shop')
    await mkdir(join(project, 'node_modules', '.bin'), {recursive: true})
    expect(await git(['init', '-q'], project)).toBe(0)
    await writeFile(join(project, 'package.json'), JSON.stringify({name: 'shop', devDependencies: {devctl: '^0.1.0'}}))
    await writeFile(join(project, 'package-lock.json'), '{}')
    await writeFile(join(project, 'node_modules', '.package-lock.json'), '{}')
    // The lock file is older than what npm installed: nothing to install.
    await utimes(join(project, 'package-lock.json'), new Date(2020, 0, 1), new Date(2020, 0, 1))
    await symlink(CLI, join(project, 'node_modules', '.bin', 'devctl'))
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const result = await runScript(project, {...sim.env, CI: '1'})
      expect(result.stdout).toMatch(new RegExp(`^onboard: using devctl/\\S+ .*\\(${project}/node_modules/\\.bin/devctl\\)$`, 'm'))
      expect(result.stdout).not.toContain('installing dependencies')
      expect(result.exitCode).toBe(11)
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it('uses the devctl on PATH when the project has none of its own', async () => {
    const bin = await tempDir('devctl-onboard-path-')
    await symlink(CLI, join(bin, 'devctl'))
    await sim.injectFault({type: 'docker-stopped'})
    try {
      const result = await runScript(repo, {...sim.env, CI: '1', PATH: `${bin}:${sim.env.PATH ?? ''}`})
      expect(result.stdout).toMatch(new RegExp(`^onboard: using devctl/\\S+ .*\\(${bin}/devctl\\)$`, 'm'))
      expect(result.exitCode).toBe(11)
    } finally {
      await sim.injectFault({type: 'docker-started'})
    }
  })

  it('refuses a Node.js older than devctl needs', async () => {
    const bin = await tempDir('devctl-old-node-')
    await writeFile(join(bin, 'node'), '#!/bin/sh\necho 18.19.1\n')
    await chmod(join(bin, 'node'), 0o755)
    const result = await runScript(repo, {PATH: `${bin}:/usr/bin:/bin`, CI: '1', DEVCTL_BIN: CLI})
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/^onboard: Node\.js 18\.19\.1 is too old: devctl needs 20\.12\.0 or newer/)
  })
})

describe('completion and help (built CLI)', () => {
  it('every command has examples in its --help', async () => {
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {pluginType?: string; examples?: unknown[]}>}
    const ours = Object.entries(manifest.commands).filter(([, command]) => command.pluginType === 'core')
    expect(ours.map(([id]) => id)).toEqual(expect.arrayContaining(['doctor', 'init', 'up']))
    expect(ours.filter(([, command]) => !command.examples?.length).map(([id]) => id)).toEqual([])
    const help = await runCli(['doctor', '--help'], {cwd: REPO_ROOT})
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/EXAMPLES\n {2}\$ devctl doctor\n/)
  })

  it('`devctl autocomplete` sets up bash and zsh completion that knows every command and flag', async () => {
    const cache = await tempDir('devctl-autocomplete-')
    const env = {XDG_CACHE_HOME: cache, HOME: cache}
    const bash = await runCli(['autocomplete', 'bash'], {cwd: REPO_ROOT, env})
    expect(bash.exitCode).toBe(0)
    expect(bash.stdout).toContain('printf "$(devctl autocomplete script bash)" >> ~/.bashrc')
    const zsh = await runCli(['autocomplete', 'zsh'], {cwd: REPO_ROOT, env})
    expect(zsh.exitCode).toBe(0)
    const functions = join(cache, 'devctl', 'autocomplete', 'functions')
    const [bashCompletion, zshCompletion] = await Promise.all([readFile(join(functions, 'bash', 'devctl.bash'), 'utf8'), readFile(join(functions, 'zsh', '_devctl'), 'utf8')])
    expect(bashCompletion).toMatch(/doctor --json --config --debug --no-input --fix --yes/)
    for (const command of ['doctor', 'init', 'up']) expect(zshCompletion).toContain(`"${command}[`)
  })
})

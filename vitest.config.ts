import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e tests run the built CLI as a subprocess against the simulator.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default (cores - 1) runs one file at a time on a 2-core CI machine; the
    // end-to-end files spend part of their time waiting on child processes, so use every core.
    maxWorkers: 2,
    // Nothing may leak a secret into a snapshot; tests assert output explicitly.
    snapshotFormat: {escapeString: false},
  },
})

import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e tests run the built CLI as a subprocess against the simulator.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Nothing may leak a secret into a snapshot; tests assert output explicitly.
    snapshotFormat: {escapeString: false},
  },
})

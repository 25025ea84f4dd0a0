import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // node-datachannel segfaults under the threads pool (node-datachannel #129, #222).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})

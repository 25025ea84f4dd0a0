// Vitest global setup of the integration project: tests that start real
// processes run dist/, so dist/ is brought up to date first (an incremental
// build: about 2 s when nothing changed). A file run alone never meets a stale build.
import { execFileSync } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export default function buildOnce (): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })
  chmodSync(fileURLToPath(new URL('../../dist/bin/voxmesh.js', import.meta.url)), 0o755)
}

// Vitest global setup of the `lab` project: says why the lab cannot run here (its tests then skip
// themselves, printing the same reason; `npm run lab` gets it in VOXMESH_LAB_SKIP_FILE), fails the
// run at once when an earlier run left lab namespaces behind, builds dist/ (the nodes in the lab
// run the compiled CLI), and removes every lab namespace at the end (a safety net behind each
// file's own teardown).
import { writeFileSync } from 'node:fs'
import buildOnce from '../helpers/build-once.js'
import { assertNoLeftovers, destroyLab, labUnavailableReason } from './topology.js'

export default function setup (): () => void {
  const reason = labUnavailableReason()
  if (reason !== undefined) {
    console.warn(`network lab SKIPPED: ${reason}`)
    // `npm run lab` (scripts/lab.mjs) reads it: a skipped lab fails under CI.
    const skipFile = process.env.VOXMESH_LAB_SKIP_FILE
    if (skipFile !== undefined && skipFile !== '') writeFileSync(skipFile, reason)
    return () => {}
  }
  assertNoLeftovers()
  buildOnce()
  return destroyLab
}

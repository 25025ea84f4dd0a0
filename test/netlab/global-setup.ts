// Vitest global setup of the `lab` project: says why the lab cannot run here (its tests then skip
// themselves, printing the same reason), fails the run at once when an earlier run left lab
// namespaces behind, builds dist/ (the nodes in the lab run the compiled CLI), and removes every
// lab namespace at the end (a safety net behind each file's own teardown).
import buildOnce from '../helpers/build-once.js'
import { assertNoLeftovers, destroyLab, labUnavailableReason } from './topology.js'

export default function setup (): () => void {
  const reason = labUnavailableReason()
  if (reason !== undefined) {
    console.warn(`network lab SKIPPED: ${reason}`)
    return () => {}
  }
  assertNoLeftovers()
  buildOnce()
  return destroyLab
}

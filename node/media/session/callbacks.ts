// Errors from native code and from the owner's callbacks become log lines, never unwinding
// into node-datachannel (a throw there can take the process down).
import type { Logger } from '../../../common/logger.js'

export function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Runs an owner's callback; a throw is logged. */
export type Deliver = (what: string, fn: () => void) => void

export function createDeliver (log: Logger): Deliver {
  return (what, fn) => {
    try {
      fn()
    } catch (err) {
      log.error({ err: errorText(err), callback: what }, 'media session callback threw')
    }
  }
}

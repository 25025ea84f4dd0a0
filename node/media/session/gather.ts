// gathered(): our description once ICE gathering is complete, every candidate inside, for
// signaling that sends one offer and one answer. After its timeout a waiter settles for the
// candidates gathered so far (TURN allocations can be slow); it fails when the session ends.
import type { Clock } from '../../../common/clock.js'
import type { Logger } from '../../../common/logger.js'

export interface GatherWaitersInit {
  clock: Clock
  log: Logger
  /** The local description as it is now, or undefined. */
  currentSdp: () => string | undefined
}

export interface GatherWaiters {
  wait: (timeoutMs: number) => Promise<string>
  /** ICE gathering reported 'complete': every waiter gets the description. */
  complete: () => void
  /** The session closed or ended: every waiter fails with `problem`. */
  fail: (problem: string) => void
}

interface Waiter { settle: (sdp: string | undefined, problem?: string) => void }

export function createGatherWaiters (init: GatherWaitersInit): GatherWaiters {
  const { clock, log, currentSdp } = init
  const waiters = new Set<Waiter>()
  let completed = false

  return {
    wait (timeoutMs) {
      if (completed) {
        const sdp = currentSdp()
        if (sdp !== undefined) return Promise.resolve(sdp)
      }
      return new Promise<string>((resolve, reject) => {
        const waiter: Waiter = {
          settle: (sdp, problem) => {
            waiters.delete(waiter)
            clock.clearTimeout(timer)
            if (sdp !== undefined) resolve(sdp)
            else reject(new Error(problem ?? 'no local description'))
          }
        }
        const timer = clock.setTimeout(() => {
          const sdp = currentSdp()
          if (sdp !== undefined) log.warn({ timeoutMs }, 'ICE gathering incomplete; using the candidates gathered so far')
          waiter.settle(sdp, `no local description after ${timeoutMs} ms`)
        }, timeoutMs)
        waiters.add(waiter)
      })
    },

    complete () {
      completed = true
      const sdp = currentSdp()
      for (const waiter of [...waiters]) waiter.settle(sdp, sdp === undefined ? 'gathering completed without a local description' : undefined)
    },

    fail (problem) {
      for (const waiter of [...waiters]) waiter.settle(undefined, problem)
    }
  }
}

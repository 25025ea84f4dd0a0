// The injected rpc, bounded in time on our Clock and abortable all at once on close.
import type { Clock } from '../../../common/clock.js'
import { DhtError } from './errors.js'
import type { DhtPeer, DhtRequest, DhtResponse } from './messages.js'

export type Rpc = (peer: DhtPeer, request: DhtRequest) => Promise<DhtResponse>

export class TimedRpc {
  private readonly aborts = new Set<() => void>()

  constructor (private readonly clock: Clock, private readonly rpc: Rpc, private readonly timeoutMs: number) {}

  /** Resolves with the raw (unvalidated) answer; rejects on failure, ERR_TIMEOUT or ERR_CLOSED (abortAll). */
  async send (peer: DhtPeer, request: DhtRequest): Promise<unknown> {
    const { clock, timeoutMs } = this
    return await new Promise<unknown>((resolve, reject) => {
      let settled = false
      const settle = (finish: () => void): void => {
        if (settled) return
        settled = true
        clock.clearTimeout(timer)
        this.aborts.delete(abort)
        finish()
      }
      const abort = (): void => { settle(() => { reject(new DhtError('ERR_CLOSED', 'the DHT is closed')) }) }
      const timer = clock.setTimeout(() => {
        settle(() => { reject(new DhtError('ERR_TIMEOUT', `${request.t} to ${peer.address} got no answer within ${timeoutMs} ms`)) })
      }, timeoutMs)
      this.aborts.add(abort)
      Promise.resolve()
        .then(async () => await this.rpc({ ...peer }, request))
        .then(
          response => { settle(() => { resolve(response) }) },
          error => { settle(() => { reject(error instanceof Error ? error : new Error(String(error))) }) }
        )
    })
  }

  /** Fails every rpc in flight with ERR_CLOSED. */
  abortAll (): void {
    for (const abort of [...this.aborts]) abort()
  }
}

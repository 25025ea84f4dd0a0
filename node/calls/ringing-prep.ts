// What a call makes ready while it rings (media-port.ts's prepare, generation 0): the caller's
// offer, gathered (its TURN allocation made), and the callee's TURN credentials, so that neither
// waits for them once the callee answers. Nothing of it reaches the peer before the answer. Each
// is kept with the attachment it came through (the host's SupernodeRef, a new object at every
// attach): a host that re-attached meanwhile, even to the same supernode, does not use it, as the
// supernode revoked its relay credentials and allocations when the old link closed.
import type { TurnServerCredentials } from '../overlay/host.js'
import type { Call } from './call.js'

interface Ready<T> { value: Promise<T>, attachment: object | undefined }

export class RingingPrep {
  private readonly offers = new WeakMap<Call, Ready<string>>()
  private readonly turn = new WeakMap<Call, Ready<TurnServerCredentials | undefined>>()

  /** `attachment`: the host's attachment now (its SupernodeRef), compared by identity. */
  constructor (private readonly attachment: () => object | undefined) {}

  offer (call: Call, sdp: Promise<string>): void {
    // A failure shows when the offer is taken.
    sdp.catch(() => {})
    this.offers.set(call, { value: sdp, attachment: this.attachment() })
  }

  credentials (call: Call, credentials: Promise<TurnServerCredentials | undefined>): void {
    this.turn.set(call, { value: credentials, attachment: this.attachment() })
  }

  /** The call's offer made while it rang, once; `stale` when it came through an attachment we have left. */
  takeOffer (call: Call): { sdp: Promise<string>, stale: boolean } | undefined {
    const ready = this.take(this.offers, call)
    return ready === undefined ? undefined : { sdp: ready.value, stale: ready.attachment !== this.attachment() }
  }

  /** The credentials asked for while the call rang, once, unless they came through an attachment we have left. */
  takeCredentials (call: Call): Promise<TurnServerCredentials | undefined> | undefined {
    const ready = this.take(this.turn, call)
    return ready !== undefined && ready.attachment === this.attachment() ? ready.value : undefined
  }

  private take<T>(map: WeakMap<Call, Ready<T>>, call: Call): Ready<T> | undefined {
    const ready = map.get(call)
    map.delete(call)
    return ready
  }
}

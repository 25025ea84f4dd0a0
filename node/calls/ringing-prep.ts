// What a call makes ready while it rings (media-port.ts's prepare, generation 0): the caller's
// offer, gathered (its TURN allocation made), and the callee's TURN credentials, so that neither
// waits for them once the callee answers. Nothing of it reaches the peer before the answer. Each
// is kept with the supernode it came through: a host that moved to another supernode meanwhile
// does not use it, as the old supernode's relay has let go of it.
import type { TurnServerCredentials } from '../overlay/host.js'
import type { Call } from './call.js'

interface Ready<T> { value: Promise<T>, supernode: string | undefined }

export class RingingPrep {
  private readonly offers = new WeakMap<Call, Ready<string>>()
  private readonly turn = new WeakMap<Call, Ready<TurnServerCredentials | undefined>>()

  /** `supernode`: the address of the supernode we are attached to now. */
  constructor (private readonly supernode: () => string | undefined) {}

  offer (call: Call, sdp: Promise<string>): void {
    // A failure shows when the offer is taken.
    sdp.catch(() => {})
    this.offers.set(call, { value: sdp, supernode: this.supernode() })
  }

  credentials (call: Call, credentials: Promise<TurnServerCredentials | undefined>): void {
    this.turn.set(call, { value: credentials, supernode: this.supernode() })
  }

  /** The call's offer made while it rang, once; 'stale' when it came through a supernode we have left. */
  takeOffer (call: Call): Promise<string> | 'stale' | undefined {
    const ready = this.take(this.offers, call)
    return ready === undefined ? undefined : ready.supernode === this.supernode() ? ready.value : 'stale'
  }

  /** The credentials asked for while the call rang, once, unless they came through a supernode we have left. */
  takeCredentials (call: Call): Promise<TurnServerCredentials | undefined> | undefined {
    const ready = this.take(this.turn, call)
    return ready !== undefined && ready.supernode === this.supernode() ? ready.value : undefined
  }

  private take<T>(map: WeakMap<Call, Ready<T>>, call: Call): Ready<T> | undefined {
    const ready = map.get(call)
    map.delete(call)
    return ready
  }
}

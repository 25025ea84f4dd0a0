// Text messages from this node: sealed and routed by the host, and answered
// by a delivery receipt from the device that read it. The result says which
// of the three happened: a receipt came, the text reached a device but no
// receipt came in time, or nobody was reached.
import type { Clock } from '../../common/clock.js'
import { normalizeUsername } from '../../common/usernames.js'
import { UserError } from '../../common/user-error.js'
import { newMessageId, type Host } from '../overlay/host.js'
import type { NodeEvent, SendMessageResult } from './api.js'

/** How long `msg` waits for a delivery receipt unless told otherwise. */
export const DEFAULT_RECEIPT_TIMEOUT_MS = 5000

export interface Messaging {
  sendMessage: (to: string, text: string) => Promise<SendMessageResult>
}

export function createMessaging (components: {
  clock: Clock
  host: Host
  /** Subscribes to the node's events (receipts arrive as events); returns the unsubscribe function. */
  subscribe: (listener: (event: NodeEvent) => void) => () => void
}, init: { receiptTimeoutMs?: number }): Messaging {
  const { clock, host } = components
  return {
    async sendMessage (to, text) {
      const target = normalizeUsername(to)
      if (target === undefined) throw new UserError(`"${to}" is not a valid username`, 'invalid_username')
      if (host.supernode === undefined) throw new UserError('not connected to the network yet (no supernode); try again shortly', 'not_connected')
      const id = newMessageId()
      const sentAt = clock.now()
      // Listen before sending: the receipt can arrive before the route result does.
      let unsubscribe = (): void => {}
      const receipt = new Promise<boolean>(resolve => {
        const timer = clock.setTimeout(() => { resolve(false) }, init.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS)
        unsubscribe = components.subscribe(event => {
          if (event.event === 'receipt' && event.ref === id && event.from === target) { clock.clearTimeout(timer); resolve(true) }
        })
      })
      try {
        const sent = await host.sendText(target, text, id)
        if (sent.delivered === 0) return { status: 'offline', id }
        return await receipt ? { status: 'delivered', id, receiptMs: clock.now() - sentAt } : { status: 'sent', id }
      } finally {
        unsubscribe()
      }
    }
  }
}

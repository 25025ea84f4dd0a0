// Text messages: to contacts only, sealed and routed by the host, answered by a
// delivery receipt from the device that read it, and kept in the node's
// message store both ways. A text nobody could take (the contact is offline,
// or we are not connected) stays queued here and goes out when the contact is
// next seen online: a presence change, our own (re)attachment, or a text from
// them. A text that reached a device but got no receipt is sent once more, with
// the same id, on the contact's next coming online; the receiver stores an id
// once and receipts it again. Receipts that come after `msg` returned are
// 'delivered' events.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { normalizeUsername } from '../../common/usernames.js'
import { UserError } from '../../common/user-error.js'
import { newMessageId, type Host } from '../overlay/host.js'
import { MAX_QUEUED_PER_PEER, type MessageStore } from './message-store.js'
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from './defaults.js'
import type { MessageView, NodeEvent, SendMessageResult } from './api.js'

/** How long `msg` waits for a delivery receipt unless told otherwise. */
export const DEFAULT_RECEIPT_TIMEOUT_MS = 5000
/** Times a text goes to a device of its recipient without a receipt coming back: the first send and one retry. */
export const MAX_SENDS = 2

export interface Messaging {
  sendMessage: (to: string, text: string) => Promise<SendMessageResult>
  messages: (peer?: string, limit?: number) => MessageView[]
  /** A text arrived (already verified and receipted by the host): stored once, shown the first time only. */
  received: (event: { from: string, id: string, text: string, sentAt: number, writtenAt: number }) => void
  receipt: (from: string, ref: string) => void
  /** `peer` was seen online (or may be reachable): send what waits for them. */
  peerOnline: (peer: string) => void
  /** We are attached again: send to every waiting contact shown online. */
  attached: () => void
  close: () => void
}

export function createMessaging (components: {
  clock: Clock
  log: Logger
  /** The overlay host, once it exists (texts arrive through it, so none come before). */
  getHost: () => Host | undefined
  store: MessageStore
  isContact: (username: string) => boolean
  emit: (event: NodeEvent) => void
}, init: { receiptTimeoutMs?: number }): Messaging {
  const { clock, store, log } = components
  const host = (): Host | undefined => components.getHost()
  /** `msg` calls waiting for the receipt of these ids. */
  const waiting = new Map<string, () => void>()
  /** Ids being sent right now, and peers whose queue is being sent. */
  const inFlight = new Set<string>()
  const flushing = new Set<string>()
  /** After close the store is gone: late host events find nothing to do. */
  let closed = false

  /** One send of a stored text; true when it reached a device of `peer`. */
  const attempt = async (peer: string, id: string, text: string, writtenAt: number): Promise<boolean> => {
    inFlight.add(id)
    try {
      const sent = await host()?.sendText(peer, text, id, writtenAt)
      if (sent === undefined || sent.delivered === 0) return false
      store.markSent(peer, id, clock.now())
      return true
    } catch (err) {
      log.warn({ to: peer, id }, `a message stays queued: sending it failed (${(err as Error).message})`)
      return false
    } finally {
      inFlight.delete(id)
    }
  }

  const flush = async (peer: string): Promise<void> => {
    if (closed || flushing.has(peer) || host()?.supernode === undefined || !components.isContact(peer)) return
    flushing.add(peer)
    try {
      for (const message of store.undelivered(peer)) {
        if (inFlight.has(message.id) || message.attempts >= MAX_SENDS) continue
        if (!await attempt(peer, message.id, message.text, message.writtenAt)) return
        log.info({ to: peer, id: message.id, state: message.state }, message.state === 'queued'
          ? 'sent a queued message: its recipient is online'
          : 'sent an unreceipted message once more (same id): its recipient is online again')
      }
    } finally {
      flushing.delete(peer)
    }
  }
  const flushSoon = (peer: string): void => {
    flush(peer).catch((err: Error) => { log.error({ to: peer }, `queued messages not sent: ${err.message}`) })
  }

  return {
    async sendMessage (to, text) {
      const target = normalizeUsername(to)
      if (target === undefined) throw new UserError(`"${to}" is not a valid username`, 'invalid_username')
      if (!components.isContact(target)) {
        throw new UserError(`${target} is not your contact, so the message was not sent; send a contact request first ` +
          `(voxmesh contacts add ${target})`, 'not_a_contact')
      }
      if (store.queuedCount(target) >= MAX_QUEUED_PER_PEER) {
        throw new UserError(`${MAX_QUEUED_PER_PEER} messages to ${target} are queued already; ` +
          `they go out when ${target} comes online`, 'queue_full')
      }
      const id = newMessageId()
      const writtenAt = clock.now()
      store.addOutgoing({ id, peer: target, text, writtenAt })
      if (host()?.supernode === undefined) return { status: 'queued', id, reason: 'not-connected' }
      // Listen before sending: the receipt can arrive before the route result does.
      const receipt = waitForReceipt(clock, waiting, id, init.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS)
      try {
        if (!await attempt(target, id, text, writtenAt)) return { status: 'queued', id, reason: 'offline' }
        return await receipt.arrived ? { status: 'delivered', id, receiptMs: clock.now() - writtenAt } : { status: 'sent', id }
      } finally {
        receipt.cancel()
      }
    },
    messages (peer, limit = DEFAULT_HISTORY_LIMIT) {
      const bounded = Math.min(Math.max(1, Math.floor(limit)), MAX_HISTORY_LIMIT)
      if (peer === undefined) return store.lastOfEach(bounded)
      const username = normalizeUsername(peer)
      if (username === undefined) throw new UserError(`"${peer}" is not a valid username`, 'invalid_username')
      return store.conversation(username, bounded)
    },
    received (event) {
      if (closed) return
      let fresh = true
      try {
        fresh = store.addIncoming({ id: event.id, peer: event.from, text: event.text, writtenAt: event.writtenAt, sentAt: event.sentAt, receivedAt: clock.now() })
      } catch (err) {
        // Shown all the same: a full disk must not make the text vanish too.
        log.error({ from: event.from, id: event.id }, `a received message could not be stored: ${(err as Error).message}`)
      }
      if (fresh) components.emit({ event: 'message', ...event })
      else log.debug({ from: event.from, id: event.id }, 'a resent message was stored already: receipted again, not shown again')
      // They are online: what waits for them can go now.
      flushSoon(event.from)
    },
    receipt (from, ref) {
      if (closed) return
      const writtenAt = store.markDelivered(from, ref, clock.now())
      if (writtenAt === undefined) return
      const waiter = waiting.get(ref)
      if (waiter !== undefined) waiter()
      else components.emit({ event: 'delivered', to: from, id: ref, writtenAt })
    },
    peerOnline: flushSoon,
    attached () {
      for (const peer of store.peersWithUndelivered()) if (host()?.presenceOf(peer) !== 'offline') flushSoon(peer)
    },
    close () {
      closed = true
      store.close()
    }
  }
}

/** Resolves true when `waiting`'s entry for `id` is called, false after `timeoutMs`; cancel() forgets it. */
function waitForReceipt (clock: Clock, waiting: Map<string, () => void>, id: string, timeoutMs: number): { arrived: Promise<boolean>, cancel: () => void } {
  let timer: ReturnType<Clock['setTimeout']> | undefined
  const arrived = new Promise<boolean>(resolve => {
    timer = clock.setTimeout(() => { resolve(false) }, timeoutMs)
    waiting.set(id, () => { resolve(true) })
  })
  return {
    arrived,
    cancel () {
      if (timer !== undefined) clock.clearTimeout(timer)
      waiting.delete(id)
    }
  }
}

// What a host does with an envelope its supernode delivers: verify it end to
// end (the supernode could be rogue), then act on its body.
import type { Sodium } from '../../common/sodium.js'
import type { Clock } from '../../common/clock.js'
import { openEnvelope } from '../../common/wire/signed-envelope.js'
import { isDeliverableBody } from './envelope-bodies.js'
import type { Envelope } from './messages.js'
import type { Logger } from './logger.js'
import type { PresenceBook } from './presence-book.js'
import type { HostEvent } from './host.js'

export interface DeliveryContext {
  sodium: Sodium
  clock: Clock
  issuerKey: Uint8Array
  log: Logger
  presence: PresenceBook
  emit: (event: HostEvent) => void
  user: string
  accepts: (from: string, type: string) => boolean
  reply: (to: string, body: Record<string, string | number>) => void
}

export function handleDelivery (ctx: DeliveryContext, envelope: Envelope): void {
  const opened = openEnvelope(ctx.sodium, envelope, { issuerKey: ctx.issuerKey, now: Math.floor(ctx.clock.now() / 1000) })
  if (!opened.ok) {
    ctx.log.warn({ reason: opened.reason }, `dropped a delivered envelope that does not verify: ${opened.message}`)
    return
  }
  const body = opened.body
  if (!isDeliverableBody.Check(body) || body.from !== opened.from.user) {
    ctx.log.warn({ from: opened.from.user }, 'dropped a delivered envelope with an unknown or mismatched body')
    return
  }
  if (!ctx.accepts(body.from, body.type)) {
    ctx.log.debug({ from: body.from, type: body.type }, 'ignored a delivery this user does not accept (blocked or not a contact)')
    return
  }
  if (body.type !== 'presence' && body.to !== ctx.user) {
    ctx.log.warn({ from: body.from }, `dropped an envelope addressed to ${body.to}, not us`)
    return
  }
  switch (body.type) {
    case 'presence': {
      const changed = ctx.presence.apply(body.from, opened.from.deviceKey, { status: body.status, seq: body.seq, expires: body.expires }, ctx.clock.now())
      if (changed !== undefined) ctx.emit({ event: 'presence', user: body.from, status: changed })
      return
    }
    case 'text':
      ctx.emit({ event: 'message', from: body.from, id: body.id, text: body.text, sentAt: body.sentAt })
      ctx.reply(body.from, { type: 'receipt', ref: body.id })
      return
    case 'receipt':
      ctx.emit({ event: 'receipt', from: body.from, ref: body.ref })
      return
    case 'contact-request':
      ctx.emit({ event: 'contact-request', from: body.from, message: body.message })
      return
    case 'contact-accepted':
      ctx.emit({ event: 'contact-accepted', from: body.from })
      return
    default:
      // Call signaling: the call manager decides (it knows the calls).
      ctx.emit({ event: 'call-signal', from: { user: opened.from.user, deviceKey: opened.from.deviceKey }, body })
  }
}

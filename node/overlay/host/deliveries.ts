// What a host does with an envelope its supernode delivers: verify it end to
// end (the supernode could be rogue), then act on its body.
import type { Sodium } from '../../../common/sodium.js'
import type { Clock } from '../../../common/clock.js'
import { openEnvelope } from '../../../common/wire/signed-envelope.js'
import { isDeliverableBody, isOverlayBody, type ApplicationBody, type OverlayBody } from '../envelope-bodies.js'
import type { SeenOneShots } from '../seen-one-shots.js'
import { openSealedText } from '../sealed-text.js'
import type { Envelope } from '../messages.js'
import type { Logger } from '../../../common/logger.js'
import type { PresenceBook } from '../presence-book.js'
import type { HostEvent } from './types.js'

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
  /** One-shot envelopes already acted on (replays are dropped). */
  seen: SeenOneShots
  /** This device: texts are sealed to it. */
  device: { deviceKey: string, secretKey: Uint8Array }
}

/**
 * Whether a one-shot body is news ('new'): not a replay and not too old to tell from one. Other bodies
 * always are. A text is known by its exact signature (the same envelope again is a replay: 'duplicate')
 * and by its sender's id: a new envelope with an id seen before is the sender sending it again because
 * no receipt came ('resent': receipted again, shown once).
 */
function firstDelivery (ctx: DeliveryContext, envelope: Envelope, body: OverlayBody): 'new' | 'resent' | 'duplicate' | 'stale' {
  let at: number
  switch (body.type) {
    case 'text': case 'receipt': case 'contact-accepted': at = body.type === 'text' ? body.sentAt : body.at; break
    default: return 'new'
  }
  const verdict = ctx.seen.admit(`sig/${envelope.sig}`, at, ctx.clock.now())
  if (verdict === 'duplicate') ctx.log.debug({ from: body.from, type: body.type }, 'dropped a one-shot envelope already acted on (a duplicate delivery or a replay)')
  if (verdict === 'stale') ctx.log.warn({ from: body.from, type: body.type, at }, 'dropped a one-shot envelope signed too long ago or ahead (a replay, or a clock far off)')
  if (verdict !== 'new' || body.type !== 'text') return verdict
  return ctx.seen.admit(`text/${body.from}/${body.id}`, at, ctx.clock.now()) === 'new' ? 'new' : 'resent'
}

export function handleDelivery (ctx: DeliveryContext, envelope: Envelope): void {
  const opened = openEnvelope(ctx.sodium, envelope, { issuerKey: ctx.issuerKey, nowSeconds: Math.floor(ctx.clock.now() / 1000) })
  if (!opened.ok) {
    ctx.log.warn({ reason: opened.reason }, `dropped a delivered envelope that does not verify: ${opened.message}`)
    return
  }
  const deliverable = opened.body
  if (!isDeliverableBody.Check(deliverable) || deliverable.from !== opened.from.user) {
    ctx.log.warn({ from: opened.from.user }, 'dropped a delivered envelope with an unknown or mismatched body')
    return
  }
  if (!ctx.accepts(deliverable.from, deliverable.type)) {
    ctx.log.debug({ from: deliverable.from, type: deliverable.type }, 'ignored a delivery this user does not accept (blocked or not a contact)')
    return
  }
  if (deliverable.type !== 'presence' && (deliverable as { to: string }).to !== ctx.user) {
    ctx.log.warn({ from: deliverable.from }, `dropped an envelope addressed to ${(deliverable as { to: string }).to}, not us`)
    return
  }
  if (!isOverlayBody.Check(deliverable)) {
    // An application's body (call signaling): the layer that owns its type checks and decides.
    ctx.emit({ event: 'application-body', from: { user: opened.from.user, deviceKey: opened.from.deviceKey }, body: deliverable as ApplicationBody })
    return
  }
  const body: OverlayBody = deliverable
  const verdict = firstDelivery(ctx, envelope, body)
  if (verdict === 'stale' || verdict === 'duplicate') return
  switch (body.type) {
    case 'presence': {
      const changed = ctx.presence.apply(body.from, opened.from.deviceKey, { status: body.status, seq: body.seq, expiresAtMs: body.expires }, ctx.clock.now())
      if (changed !== undefined) ctx.emit({ event: 'presence', user: body.from, status: changed })
      return
    }
    case 'text': {
      const text = openSealedText(ctx.sodium, body, ctx.device, opened.from.deviceKey)
      if (!text.ok) {
        // Not shown, not receipted: the sender sees "sent", never a garbled text on our side.
        ctx.log.warn({ from: body.from, id: body.id }, `dropped a text this device cannot open: ${text.reason}`)
        return
      }
      // A writtenAt later than sentAt is the sender's mistake or a lie: never shown as later than sent.
      const writtenAt = Math.min(body.writtenAt ?? body.sentAt, body.sentAt)
      if (verdict === 'new') ctx.emit({ event: 'message', from: body.from, id: body.id, text: text.text, sentAt: body.sentAt, writtenAt })
      ctx.reply(body.from, { type: 'receipt', ref: body.id })
      return
    }
    case 'receipt':
      ctx.emit({ event: 'receipt', from: body.from, ref: body.ref })
      return
    case 'contact-accepted':
      ctx.emit({ event: 'contact-accepted', from: body.from })
      return
  }
}

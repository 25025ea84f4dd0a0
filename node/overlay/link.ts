// An authenticated, encrypted overlay link over one transport connection:
// handshake (common/wire/link-handshake.ts), then every frame sealed with the
// session keys and decoded against the message schemas. A peer that sends
// anything malformed, unauthenticated or replayed is disconnected, with the
// reason logged, and nothing it sent is acted on.
import type { Sodium } from '../../common/sodium.js'
import type { Clock, TimerHandle } from '../../common/clock.js'
import { createLinkHandshake, type LinkIdentity, type LinkPeer } from '../../common/wire/link-handshake.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS, verifyCertificate, type Certificate, type CertificateBody } from '../../common/certificate.js'
import { MAX_SEALED_FRAME_BYTES, type FrameCipher } from '../../common/wire/frame-cipher.js'
import type { Connection, ConnectionHandlers } from '../net/transport.js'
import { decodeLinkMessage, encodeLinkMessage, type LinkMessage, type MessageOf } from './messages.js'
import type { Logger } from '../../common/logger.js'

export const HANDSHAKE_TIMEOUT_MS = 5000
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000
/** The longest delay a timer takes (Node's setTimeout limit, 2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Requests in flight per link; beyond it new requests fail at once. */
export const MAX_PENDING_REQUESTS = 1024

type ReplyType = 'route-result' | 'dialback-result' | 'pong' | 'dht-reply' | 'forward-result' | 'presence-fetch-result' | 'turn-credentials' | 'located'
const REPLIES = new Set<string>(['route-result', 'dialback-result', 'pong', 'dht-reply', 'forward-result', 'presence-fetch-result', 'turn-credentials', 'located'])

export interface LinkComponents {
  sodium: Sodium
  clock: Clock
  identity: LinkIdentity
  issuerKey: Uint8Array
  log: Logger
  /** Refuses peer certificates that verify but must not be used (revoked at logout): at the handshake and at renewal. */
  refusePeer?: (certificate: CertificateBody) => string | undefined
}

export interface Link {
  readonly peer: LinkPeer
  readonly remoteAddress: string
  readonly closed: boolean
  /** Clock time of the last authenticated frame from the peer (the handshake's end before any): silence is measured from it. */
  readonly lastFrameAt: number
  /** Clock time of the last frame this side sent (the handshake's end before any): a beat is due only after a quiet spell. */
  readonly lastSentAt: number
  /** Messages that are not replies to this side's requests. */
  onMessage: (message: LinkMessage) => void
  onClose: (reason: string) => void
  send: (message: LinkMessage) => void
  /**
   * Sends a beat: a sealed empty frame. It only tells the peer the link is alive: the peer opens
   * it (so it is authenticated and in sequence like any frame) and does nothing else, no decoding
   * and no answer.
   */
  beat: () => void
  /** Sends a message carrying `id` and resolves with the peer's reply of type `reply` with the same id. */
  request: <T extends ReplyType>(message: LinkMessage & { id: number }, reply: T, timeoutMs?: number) => Promise<MessageOf<T>>
  nextId: () => number
  close: (reason: string) => void
}

export class LinkClosedError extends Error {}

/** Runs the handshake on `connection`; resolves with the link or rejects with the reason (the connection is then closed). */
export function openLink (
  components: LinkComponents,
  connection: Connection,
  role: 'initiator' | 'responder',
  expectedDeviceKey?: string,
  allowSelf = false
): Promise<Link> {
  const { sodium, clock, log } = components
  const handshake = createLinkHandshake(sodium, {
    role,
    identity: components.identity,
    issuerKey: components.issuerKey,
    nowSeconds: () => Math.floor(clock.now() / 1000),
    expectedDeviceKey,
    allowSelf,
    refusePeer: components.refusePeer
  })

  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => { fail(`handshake not finished within ${HANDSHAKE_TIMEOUT_MS} ms`) }, HANDSHAKE_TIMEOUT_MS)
    const fail = (reason: string): void => {
      clock.clearTimeout(timer)
      connection.close(reason)
      reject(new Error(reason))
    }
    connection.setHandlers({
      onFrame: frame => {
        const step = handshake.receive(frame)
        for (const out of step.send) connection.send(out)
        if (step.error !== undefined) {
          log.info({ remote: connection.remoteAddress, reason: step.error.reason }, `link handshake refused: ${step.error.message}`)
          fail(`handshake failed (${step.error.reason}): ${step.error.message}`)
        } else if (step.established !== undefined) {
          clock.clearTimeout(timer)
          const link = new LinkImpl(components, connection, step.established.peer, step.established.cipher)
          // From here on the link alone reads the connection: these handlers (and with them the
          // handshake's state, its ephemeral key included) are let go for as long as the link lives.
          connection.setHandlers(handlersOf(link))
          resolve(link)
        }
      },
      onClose: reason => { fail(`connection closed during handshake: ${reason}`) }
    })
    for (const out of handshake.start()) connection.send(out)
  })
}

/** A link's connection handlers, made outside openLink so they hold nothing but the link. */
function handlersOf (link: LinkImpl): ConnectionHandlers {
  return { onFrame: frame => { link.receive(frame) }, onClose: reason => { link.closedByTransport(reason) } }
}

const EMPTY = new Uint8Array(0)

interface PendingRequest { resolve: (m: LinkMessage) => void, reject: (e: Error) => void, timer: TimerHandle }

/** Messages a link holds until its owner sets onMessage (bounded: a peer cannot make us buffer much). */
const MAX_EARLY_MESSAGES = 16

/**
 * A link lives only as long as its peer's certificate would verify (expiry plus the tolerated
 * skew); a peer whose certificate was renewed says so with 'renewed-certificate', which this side
 * does by itself with the first frame it sends after its own identity was renewed. So logout and
 * expiry hold on open links too, and renewals cost no reconnect.
 */
class LinkImpl implements Link {
  onClose: (reason: string) => void = () => {}
  private expiryTimer: TimerHandle | undefined
  /** The certificate of ours the peer knows (the one we handshook with, or last announced). */
  private announced: string
  private handler: ((message: LinkMessage) => void) | undefined
  // The first message can arrive in the same socket read as the handshake's
  // last frame, before whoever awaited openLink() had a chance to listen.
  private early: LinkMessage[] = []
  closed = false
  private lastId = 0
  lastFrameAt: number
  lastSentAt: number
  /** Requests waiting for their reply; made at the first request (a supernode's host links seldom make any). */
  private pending: Map<string, PendingRequest> | undefined

  constructor (
    private readonly components: LinkComponents,
    private readonly connection: Connection,
    public peer: LinkPeer,
    private readonly cipher: FrameCipher
  ) {
    this.lastFrameAt = components.clock.now()
    this.lastSentAt = this.lastFrameAt
    this.announced = components.identity.certificate.signature
    this.watchExpiry()
  }

  private watchExpiry (): void {
    const { clock } = this.components
    if (this.expiryTimer !== undefined) clock.clearTimeout(this.expiryTimer)
    const refusedFromMs = (this.peer.certificateBody.expires + CERTIFICATE_CLOCK_SKEW_SECONDS) * 1000
    // Timers cannot wait longer than MAX_TIMER_MS: a longer-lived certificate is looked at again then.
    this.expiryTimer = clock.setTimeout(() => {
      if (clock.now() < refusedFromMs) { this.watchExpiry(); return }
      this.components.log.info({ peer: this.peer.user, remote: this.remoteAddress }, 'closing link: the peer\'s certificate expired and was not renewed')
      this.close('peer certificate expired')
    }, Math.min(refusedFromMs - clock.now(), MAX_TIMER_MS))
  }

  /** The peer's renewed certificate: same user and device, verifying now, not refused. */
  private renewPeer (certificate: Certificate): void {
    const { sodium, issuerKey, clock } = this.components
    const check = verifyCertificate(sodium, certificate, { issuerKey, nowSeconds: Math.floor(clock.now() / 1000) })
    if (!check.ok) { this.protocolError(`renewed certificate rejected (${check.reason}): ${check.message}`); return }
    if (check.body.user !== this.peer.user || check.body.deviceKey !== this.peer.deviceKey) { this.protocolError('renewed certificate is for another user or device'); return }
    const refused = this.components.refusePeer?.(check.body)
    if (refused !== undefined) { this.close(`peer certificate refused: ${refused}`); return }
    this.peer = { ...this.peer, certificate: { body: certificate.body, signature: certificate.signature }, certificateBody: check.body }
    this.watchExpiry()
  }

  get remoteAddress (): string { return this.connection.remoteAddress }

  get onMessage (): (message: LinkMessage) => void {
    return this.handler ?? (() => {})
  }

  set onMessage (handler: (message: LinkMessage) => void) {
    this.handler = handler
    // In order; a handler that installs another one (a host's 'register', a
    // supernode's 'peer-hello') leaves the rest to it, not to the floor.
    while (this.early.length > 0 && !this.closed && this.handler === handler) {
      this.dispatch(this.early.shift() as LinkMessage)
    }
  }

  nextId (): number { return ++this.lastId }

  send (message: LinkMessage): void {
    if (this.closed) return
    this.sendSealed(encodeLinkMessage(message))
  }

  beat (): void {
    if (this.closed) return
    this.sendSealed(EMPTY)
  }

  private sendSealed (plaintext: Uint8Array): void {
    const own = this.components.identity.certificate
    if (own.signature !== this.announced) {
      this.announced = own.signature
      this.connection.send(this.cipher.seal(encodeLinkMessage({ t: 'renewed-certificate', certificate: { body: own.body, signature: own.signature } })))
    }
    this.lastSentAt = this.components.clock.now()
    this.connection.send(this.cipher.seal(plaintext))
  }

  request<T extends ReplyType> (message: LinkMessage & { id: number }, reply: T, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<MessageOf<T>> {
    if (this.closed) return Promise.reject(new LinkClosedError(`link to ${this.peer.user} is closed`))
    const pending = this.pending ??= new Map<string, PendingRequest>()
    if (pending.size >= MAX_PENDING_REQUESTS) return Promise.reject(new Error(`too many requests in flight to ${this.peer.user}`))
    const key = `${reply}:${message.id}`
    return new Promise((resolve, reject) => {
      const timer = this.components.clock.setTimeout(() => {
        pending.delete(key)
        reject(new Error(`${message.t} to ${this.peer.user} got no ${reply} within ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(key, { resolve: resolve as (m: LinkMessage) => void, reject, timer })
      this.send(message)
    })
  }

  receive (frame: Uint8Array): void {
    if (this.closed) return
    if (frame.length > MAX_SEALED_FRAME_BYTES) { this.protocolError(`frame of ${frame.length} bytes exceeds ${MAX_SEALED_FRAME_BYTES}`); return }
    const plaintext = this.cipher.open(frame)
    if (plaintext === undefined) { this.protocolError('frame failed authentication (tampered, replayed or reordered)'); return }
    this.lastFrameAt = this.components.clock.now()
    if (plaintext.length === 0) return // a beat: it said the link is alive, and that is all
    const decoded = decodeLinkMessage(plaintext)
    if (!decoded.ok) { this.protocolError(decoded.reason); return }
    const message = decoded.message
    if (message.t === 'renewed-certificate') { this.renewPeer(message.certificate); return }
    if (REPLIES.has(message.t)) {
      const key = `${message.t}:${(message as { id: number }).id}`
      const waiting = this.pending?.get(key)
      if (waiting === undefined) return // late reply after a timeout: harmless
      this.pending?.delete(key)
      this.components.clock.clearTimeout(waiting.timer)
      waiting.resolve(message)
      return
    }
    if (this.handler === undefined) {
      if (this.early.length >= MAX_EARLY_MESSAGES) { this.protocolError('too many messages before the link was set up'); return }
      this.early.push(message)
      return
    }
    this.dispatch(message)
  }

  private dispatch (message: LinkMessage): void {
    try {
      (this.handler as (message: LinkMessage) => void)(message)
    } catch (err) {
      this.protocolError(`message ${message.t} was refused: ${(err as Error).message}`)
    }
  }

  private protocolError (reason: string): void {
    this.components.log.warn({ peer: this.peer.user, remote: this.remoteAddress }, `disconnecting peer: ${reason}`)
    this.close(`protocol error: ${reason}`)
  }

  close (reason: string): void {
    if (this.closed) return
    this.connection.close(reason)
    this.closedByTransport(reason)
  }

  closedByTransport (reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.expiryTimer !== undefined) this.components.clock.clearTimeout(this.expiryTimer)
    const pending = this.pending
    this.pending = undefined
    for (const waiting of pending?.values() ?? []) {
      this.components.clock.clearTimeout(waiting.timer)
      waiting.reject(new LinkClosedError(`link to ${this.peer.user} closed: ${reason}`))
    }
    this.onClose(reason)
  }
}

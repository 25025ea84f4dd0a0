// A hand-driven peer for attacking a supernode: one transport connection, the
// real link handshake and frame cipher, and exactly the bytes a test wants to send.
import type { Sodium } from '../../common/sodium.js'
import { createLinkHandshake, type LinkError, type LinkIdentity, type LinkPeer } from '../../common/wire/link-handshake.js'
import type { FrameCipher } from '../../common/wire/frame-cipher.js'
import type { FakeClock } from '../../node/net/fake-clock.js'
import type { Connection } from '../../node/net/transport.js'
import { decodeLinkMessage, type LinkMessage, type MessageOf } from '../../node/overlay/messages.js'

export interface Device { user: string, deviceKey: string, identity: LinkIdentity }

export interface DeviceOptions {
  /** Unix seconds; default now. */
  issued?: number
  /** Seconds after `issued`; default a day. */
  lifetimeSeconds?: number
  /** Sign with this key instead of the issuer the supernode trusts. */
  issuerSecretKey?: Uint8Array
}

/**
 * One transport connection driven by the test: raw frames in and out, an
 * optional link handshake (the real one), then sealed frames with the real
 * frame cipher. Records everything it receives and how its connection closed.
 */
export class WirePeer {
  /** Raw frames sent and received, in order (handshake frames included). */
  readonly sent: Uint8Array[] = []
  readonly frames: Uint8Array[] = []
  /** Messages received after the handshake, decoded. */
  readonly messages: LinkMessage[] = []
  closedReason: string | undefined
  handshakeError: LinkError | undefined
  peer: LinkPeer | undefined
  cipher: FrameCipher | undefined
  /** Runs right after the handshake completes, in the same turn as our last handshake frame went out. */
  onEstablished: (() => void) | undefined
  private handshake: ReturnType<typeof createLinkHandshake> | undefined

  constructor (readonly connection: Connection) {
    connection.setHandlers({
      onFrame: frame => { this.receive(frame) },
      onClose: reason => { this.closedReason = reason }
    })
  }

  get closed (): boolean { return this.closedReason !== undefined }

  startHandshake (sodium: Sodium, clock: FakeClock, device: Device, issuerKey: Uint8Array, expectedDeviceKey?: string): void {
    this.handshake = createLinkHandshake(sodium, {
      role: 'initiator',
      identity: device.identity,
      issuerKey,
      nowSeconds: () => Math.floor(clock.now() / 1000),
      expectedDeviceKey
    })
    for (const frame of this.handshake.start()) this.sendRaw(frame)
  }

  sendRaw (frame: Uint8Array): void {
    this.sent.push(frame)
    this.connection.send(frame)
  }

  /** Seals `plaintext` as the next frame, without sending it. */
  seal (plaintext: Uint8Array): Uint8Array {
    if (this.cipher === undefined) throw new Error('no link keys yet')
    return this.cipher.seal(plaintext)
  }

  /** Seals and sends; returns the frame as it went out. */
  sendSealed (plaintext: Uint8Array): Uint8Array {
    const frame = this.seal(plaintext)
    this.sendRaw(frame)
    return frame
  }

  /** Any value as JSON in a sealed frame (no schema check on our side). */
  sendJson (value: unknown): Uint8Array {
    return this.sendSealed(new TextEncoder().encode(JSON.stringify(value)))
  }

  received<T extends LinkMessage['t']> (t: T): Array<MessageOf<T>> {
    return this.messages.filter((m): m is MessageOf<T> => m.t === t)
  }

  close (): void { this.connection.close('test peer done') }

  private receive (frame: Uint8Array): void {
    this.frames.push(frame)
    if (this.cipher !== undefined) {
      const plaintext = this.cipher.open(frame)
      if (plaintext === undefined) throw new Error('test peer: a frame from the supernode failed authentication')
      const decoded = decodeLinkMessage(plaintext)
      if (!decoded.ok) throw new Error(`test peer: undecodable message from the supernode: ${decoded.reason}`)
      this.messages.push(decoded.message)
      return
    }
    if (this.handshake === undefined || this.handshake.done) return
    const step = this.handshake.receive(frame)
    for (const out of step.send) this.sendRaw(out)
    if (step.error !== undefined) this.handshakeError = step.error
    if (step.established !== undefined) {
      this.peer = step.established.peer
      this.cipher = step.established.cipher
      this.onEstablished?.()
    }
  }
}

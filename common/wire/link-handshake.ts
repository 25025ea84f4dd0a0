// The authenticated key exchange that opens every overlay link (host↔supernode,
// supernode↔supernode). Sans-IO: feed it the frames that arrive, send the
// frames it returns; it never touches a socket or a timer, so the caller owns
// the handshake deadline.
//
//   initiator → responder  hello   { certificate, eph, nonce }
//   responder → initiator  welcome { certificate, eph, nonce, sig }   sig by responder's device key
//   initiator → responder  auth    { sig }                            sig by initiator's device key
//
// Each side proves its certificate's device key approved both fresh ephemeral
// X25519 keys (see link-transcript.ts for exactly what is signed); the session
// keys come from those ephemeral keys through crypto_kx, so recording a link and
// later stealing a device key does not reveal its traffic (forward secrecy).
import { fromBase64url, toBase64url } from '../base64url.js'
import { verifyCertificate, type Certificate, type CertificateBody } from '../certificate.js'
import type { Sodium } from '../sodium.js'
import { ownCertificateFacts, type DeviceIdentity } from './device-identity.js'
import { createFrameCipher, type FrameCipher } from './frame-cipher.js'
import {
  decodeHandshakeMessage, encodeHandshakeMessage, HANDSHAKE_NONCE_BYTES, LINK_PROTOCOL_VERSION
} from './link-handshake-messages.js'
import { authSignedBytes, welcomeSignedBytes, type LinkTranscript } from './link-transcript.js'

/** The identity a link end proves itself with. */
export type LinkIdentity = DeviceIdentity

export type LinkRole = 'initiator' | 'responder'

export type LinkErrorReason =
  /** Not a well-formed handshake message (bad JSON, fields, sizes, or an unusable ephemeral key). */
  | 'malformed'
  /** A message out of order, or any message after the handshake finished or failed. */
  | 'unexpected'
  /** The peer's certificate failed verification; the message says why. */
  | 'bad_certificate'
  /** The peer's signature over the transcript does not verify under its device key. */
  | 'bad_signature'
  /** The peer's device key is not the expected one. */
  | 'wrong_peer'
  /** The peer presented our own device key. */
  | 'self'

export interface LinkError { reason: LinkErrorReason, message: string }

/** Who is at the other end, as proven by the handshake. */
export interface LinkPeer {
  user: string
  /** base64url Ed25519 public key */
  deviceKey: string
  certificate: Certificate
  certificateBody: CertificateBody
}

export interface HandshakeStep {
  /** Frames to send to the peer, in order (possibly none). */
  send: Uint8Array[]
  /** Present once: the link is up; every later frame goes through `cipher`. */
  established?: { peer: LinkPeer, cipher: FrameCipher }
  /** Present when the handshake failed; close the connection. */
  error?: LinkError
}

export interface LinkHandshakeOptions {
  role: LinkRole
  identity: LinkIdentity
  /** The pinned login server public key. */
  issuerKey: Uint8Array
  /** Unix seconds. */
  nowSeconds: () => number
  /** base64url device key the peer must have (e.g. the supernode we meant to dial). */
  expectedDeviceKey?: string
  /**
   * Accept a peer with our own device key. Only a holder of our secret key can
   * complete the handshake, so this is safe; it lets a supernode's own user
   * attach to it. Off by default: a node dialing its own address is a mistake.
   */
  allowSelf?: boolean
  /** Says why a peer certificate that verifies is still refused (e.g. revoked at logout), or undefined. */
  refusePeer?: (certificate: CertificateBody) => string | undefined
}

export interface LinkHandshake {
  /** Initiator: returns [hello] (call once). Responder: returns [] (it speaks when hello arrives). */
  start: () => Uint8Array[]
  receive: (frame: Uint8Array) => HandshakeStep
  /** True once the handshake is established or failed; it accepts no more frames. */
  readonly done: boolean
}

type State =
  | { name: 'not_started' }
  | { name: 'awaiting_welcome' }
  | { name: 'awaiting_hello' }
  | { name: 'awaiting_auth', peer: LinkPeer, transcript: LinkTranscript, cipher: FrameCipher }
  | { name: 'established' }
  | { name: 'failed' }

/** The peer's proven identity from its certificate, or why it is refused. */
function peerFromCertificate (
  sodium: Sodium, options: LinkHandshakeOptions, ownDeviceKey: string, certificate: Certificate
): LinkPeer | { reason: LinkErrorReason, message: string } {
  const { issuerKey, nowSeconds, expectedDeviceKey } = options
  const check = verifyCertificate(sodium, certificate, { issuerKey, nowSeconds: nowSeconds() })
  if (!check.ok) return { reason: 'bad_certificate', message: `peer certificate rejected (${check.reason}): ${check.message}` }
  const refused = options.refusePeer?.(check.body)
  if (refused !== undefined) return { reason: 'bad_certificate', message: `peer certificate refused: ${refused}` }
  const { user, deviceKey } = check.body
  if (deviceKey === ownDeviceKey && options.allowSelf !== true) return { reason: 'self', message: `peer presented our own device key ${deviceKey} (connected to ourselves?)` }
  if (expectedDeviceKey !== undefined && deviceKey !== expectedDeviceKey) {
    return { reason: 'wrong_peer', message: `peer is device ${deviceKey} of ${user}, expected device ${expectedDeviceKey}` }
  }
  return { user, deviceKey, certificate: { body: certificate.body, signature: certificate.signature }, certificateBody: check.body }
}

const signatureVerifiesUnder = (sodium: Sodium, sig: string, bytes: Uint8Array, deviceKey: string): boolean =>
  // Both were length-checked by the schema and by verifyCertificate.
  sodium.crypto_sign_verify_detached(fromBase64url(sig) as Uint8Array, bytes, fromBase64url(deviceKey) as Uint8Array)

/** crypto_kx refuses an all-zero shared secret (a low-order peer key); undefined then. Our ephemeral secret is wiped either way. */
function sessionKeysWith (
  sodium: Sodium, role: LinkRole, ephemeral: { publicKey: Uint8Array, privateKey: Uint8Array }, peerEph: string
): { tx: Uint8Array, rx: Uint8Array } | undefined {
  const peerKey = fromBase64url(peerEph) as Uint8Array
  try {
    const keys = role === 'initiator'
      ? sodium.crypto_kx_client_session_keys(ephemeral.publicKey, ephemeral.privateKey, peerKey)
      : sodium.crypto_kx_server_session_keys(ephemeral.publicKey, ephemeral.privateKey, peerKey)
    return { tx: keys.sharedTx, rx: keys.sharedRx }
  } catch {
    return undefined
  } finally {
    sodium.memzero(ephemeral.privateKey)
  }
}

/** The frame cipher of these session keys; the keys themselves are wiped. */
function cipherFromKeys (sodium: Sodium, keys: { tx: Uint8Array, rx: Uint8Array }): FrameCipher {
  const cipher = createFrameCipher(sodium, keys)
  sodium.memzero(keys.tx)
  sodium.memzero(keys.rx)
  return cipher
}

export function createLinkHandshake (sodium: Sodium, options: LinkHandshakeOptions): LinkHandshake {
  const { role, identity } = options
  const own = ownCertificateFacts(sodium, identity)
  const ephemeral = sodium.crypto_kx_keypair()
  const ownEph = toBase64url(ephemeral.publicKey)
  const ownNonce = toBase64url(sodium.randombytes_buf(HANDSHAKE_NONCE_BYTES))
  // Copied field by field: a certificate parsed from a login response may carry
  // extra properties, which the peer's strict parser would refuse.
  const ownCertificate: Certificate = { body: identity.certificate.body, signature: identity.certificate.signature }
  let state: State = role === 'initiator' ? { name: 'not_started' } : { name: 'awaiting_hello' }

  const forgetEphemeralSecret = (): void => { sodium.memzero(ephemeral.privateKey) }

  const fail = (reason: LinkErrorReason, message: string): HandshakeStep => {
    state = { name: 'failed' }
    forgetEphemeralSecret()
    return { send: [], error: { reason, message } }
  }

  /** The peer's proven identity, or the failure step. */
  const checkPeerCertificate = (certificate: Certificate): LinkPeer | HandshakeStep => {
    const checked = peerFromCertificate(sodium, options, own.deviceKey, certificate)
    return 'reason' in checked ? fail(checked.reason, checked.message) : checked
  }
  const signatureVerifies = (sig: string, bytes: Uint8Array, deviceKey: string): boolean => signatureVerifiesUnder(sodium, sig, bytes, deviceKey)
  const sessionKeys = (peerEph: string): { tx: Uint8Array, rx: Uint8Array } | undefined => sessionKeysWith(sodium, role, ephemeral, peerEph)
  const cipherFrom = (keys: { tx: Uint8Array, rx: Uint8Array }): FrameCipher => cipherFromKeys(sodium, keys)

  const receive = (frame: Uint8Array): HandshakeStep => {
    const expecting = state.name
    if (expecting === 'established' || expecting === 'failed') {
      // Not a new failure: an established link stays established.
      return { send: [], error: { reason: 'unexpected', message: `handshake already ${expecting}; frame not accepted` } }
    }
    if (expecting === 'not_started') return fail('unexpected', 'frame received before start()')
    const decoded = decodeHandshakeMessage(frame)
    if (!decoded.ok) return fail('malformed', decoded.message)
    const message = decoded.message
    const wanted = expecting === 'awaiting_welcome' ? 'welcome' : expecting === 'awaiting_hello' ? 'hello' : 'auth'
    if (message.t !== wanted) return fail('unexpected', `received "${message.t}" while waiting for "${wanted}"`)

    if (message.t === 'hello') {
      const peer = checkPeerCertificate(message.certificate)
      if ('send' in peer) return peer
      const keys = sessionKeys(message.eph)
      if (keys === undefined) return fail('malformed', 'initiator ephemeral key is unusable (low-order point)')
      const transcript: LinkTranscript = {
        initiatorDeviceKey: peer.deviceKey,
        initiatorEph: message.eph,
        initiatorNonce: message.nonce,
        responderDeviceKey: own.deviceKey,
        responderEph: ownEph,
        responderNonce: ownNonce
      }
      state = { name: 'awaiting_auth', peer, transcript, cipher: cipherFrom(keys) }
      const sig = toBase64url(sodium.crypto_sign_detached(welcomeSignedBytes(transcript), identity.secretKey))
      return {
        send: [encodeHandshakeMessage({
          t: 'welcome', v: LINK_PROTOCOL_VERSION, certificate: ownCertificate, eph: ownEph, nonce: ownNonce, sig
        })]
      }
    }

    if (message.t === 'welcome') {
      const peer = checkPeerCertificate(message.certificate)
      if ('send' in peer) return peer
      const transcript: LinkTranscript = {
        initiatorDeviceKey: own.deviceKey,
        initiatorEph: ownEph,
        initiatorNonce: ownNonce,
        responderDeviceKey: peer.deviceKey,
        responderEph: message.eph,
        responderNonce: message.nonce
      }
      if (!signatureVerifies(message.sig, welcomeSignedBytes(transcript), peer.deviceKey)) {
        return fail('bad_signature', `welcome signature does not verify under ${peer.user}'s device key for this handshake`)
      }
      const keys = sessionKeys(message.eph)
      if (keys === undefined) return fail('malformed', 'responder ephemeral key is unusable (low-order point)')
      state = { name: 'established' }
      const sig = toBase64url(sodium.crypto_sign_detached(authSignedBytes(transcript), identity.secretKey))
      return { send: [encodeHandshakeMessage({ t: 'auth', sig })], established: { peer, cipher: cipherFrom(keys) } }
    }

    // auth: only reachable while awaiting it
    if (state.name !== 'awaiting_auth') return fail('unexpected', 'auth received out of order')
    const { peer, transcript, cipher } = state
    if (!signatureVerifies(message.sig, authSignedBytes(transcript), peer.deviceKey)) {
      return fail('bad_signature', `auth signature does not verify under ${peer.user}'s device key for this handshake`)
    }
    state = { name: 'established' }
    return { send: [], established: { peer, cipher } }
  }

  return {
    start () {
      if (role === 'responder') return []
      if (state.name !== 'not_started') throw new Error('link handshake start() called twice')
      state = { name: 'awaiting_welcome' }
      return [encodeHandshakeMessage({
        t: 'hello', v: LINK_PROTOCOL_VERSION, certificate: ownCertificate, eph: ownEph, nonce: ownNonce
      })]
    },
    receive,
    get done () { return state.name === 'established' || state.name === 'failed' }
  }
}

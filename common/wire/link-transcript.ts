// What each side of a link handshake signs. Both signatures cover both
// ephemeral keys and both nonces (so a signature from an old handshake is
// worthless in a new one) and also both device keys: without them a legitimate
// user in the middle could relay an honest initiator's handshake under its own
// certificate, and the responder would attribute the initiator's traffic to the
// relay (an identity-misbinding, or "unknown key-share", attack). With them, the
// responder's signature names the device it believes it talks to, and the
// initiator refuses a welcome that names anyone else.
import { canonicalEncode } from '../canonical.js'

export const WELCOME_PURPOSE = 'voxmesh/link/welcome/v1'
export const AUTH_PURPOSE = 'voxmesh/link/auth/v1'

/** Every value is base64url as it appears on the wire. */
export interface LinkTranscript {
  initiatorDeviceKey: string
  initiatorEph: string
  initiatorNonce: string
  responderDeviceKey: string
  responderEph: string
  responderNonce: string
}

/** Signed by the responder's device key, sent in "welcome". */
export function welcomeSignedBytes (transcript: LinkTranscript): Uint8Array {
  return signedBytes(WELCOME_PURPOSE, transcript)
}

/** Signed by the initiator's device key, sent in "auth". */
export function authSignedBytes (transcript: LinkTranscript): Uint8Array {
  return signedBytes(AUTH_PURPOSE, transcript)
}

// Fields are copied one by one so that nothing but the transcript gets signed.
function signedBytes (purpose: string, t: LinkTranscript): Uint8Array {
  return canonicalEncode({
    purpose,
    initiatorDeviceKey: t.initiatorDeviceKey,
    initiatorEph: t.initiatorEph,
    initiatorNonce: t.initiatorNonce,
    responderDeviceKey: t.responderDeviceKey,
    responderEph: t.responderEph,
    responderNonce: t.responderNonce
  })
}

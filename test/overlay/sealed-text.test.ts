import { beforeAll, describe, expect, it } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'
import { MAX_LOCATED_DEVICES, MAX_TEXT_CHARS } from '../../node/overlay/messages.js'
import { openSealedText, sealText } from '../../node/overlay/sealed-text.js'
import { isDeliverableBody } from '../../node/overlay/envelope-bodies.js'
import { canonicalEncode } from '../../common/canonical.js'
import { MAX_SIGNED_BODY_BYTES } from '../../common/wire/signed-record.js'

let sodium: Sodium
beforeAll(async () => { sodium = await loadSodium() })

const device = () => {
  const keys = sodium.crypto_sign_keypair()
  return { deviceKey: toBase64url(keys.publicKey), secretKey: keys.privateKey }
}

describe('texts sealed to devices', () => {
  it('every recipient device opens the text; the sender names itself by its device key', () => {
    const alice = device()
    const phone = device()
    const laptop = device()
    const text = '日本語も 🙂 ok'
    const sealed = sealText(sodium, text, alice, [phone.deviceKey, laptop.deviceKey])
    expect(openSealedText(sodium, sealed, phone, alice.deviceKey)).toEqual({ ok: true, text })
    expect(openSealedText(sodium, sealed, laptop, alice.deviceKey)).toEqual({ ok: true, text })
  })

  it('a device it was not sealed to, or a wrong claimed sender, cannot open it', () => {
    const alice = device()
    const bob = device()
    const sealed = sealText(sodium, 'secret', alice, [bob.deviceKey])
    expect(openSealedText(sodium, sealed, device(), alice.deviceKey).ok).toBe(false)
    expect(openSealedText(sodium, sealed, bob, device().deviceKey).ok).toBe(false)
  })

  it('a tampered ciphertext or key box does not open', () => {
    const alice = device()
    const bob = device()
    const sealed = sealText(sodium, 'secret', alice, [bob.deviceKey])
    // Another first character: always other bytes (a flip that may leave the text as it was would make this test flaky).
    const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    expect(openSealedText(sodium, { ...sealed, ciphertext: flip(sealed.ciphertext) }, bob, alice.deviceKey).ok).toBe(false)
    const keys = [{ device: bob.deviceKey, box: flip(sealed.keys[0]!.box) }]
    expect(openSealedText(sodium, { ...sealed, keys }, bob, alice.deviceKey).ok).toBe(false)
  })

  it('the longest text sealed to the most devices is a valid text body within the signed-body bound', () => {
    const alice = device()
    const recipients = Array.from({ length: MAX_LOCATED_DEVICES }, () => device().deviceKey)
    const sealed = sealText(sodium, '語'.repeat(MAX_TEXT_CHARS), alice, recipients)
    const body = { type: 'text', from: 'alice', to: 'bob', id: 'abcdefgh', sentAt: 1, ...sealed }
    expect(isDeliverableBody.Check(body)).toBe(true)
    expect(canonicalEncode(body).length).toBeLessThanOrEqual(MAX_SIGNED_BODY_BYTES)
    expect(() => sealText(sodium, 'x', alice, [...recipients, device().deviceKey])).toThrow(RangeError)
  })
})

import { beforeAll, describe, expect, it } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { canonicalEncode } from '../../common/canonical.js'
import { toBase64url, fromBase64url } from '../../common/base64url.js'
import { signCertificate, verifyCertificate, CERTIFICATE_CLOCK_SKEW_SECONDS, type CertificateBody } from '../../common/certificate.js'

let sodium: Sodium
let issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
let body: CertificateBody
const NOW = 1_800_000_000

beforeAll(async () => {
  sodium = await loadSodium()
  issuer = sodium.crypto_sign_keypair()
  body = { v: 1, user: 'alice', deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey), issued: NOW, expires: NOW + 3600, serial: 7 }
})

const verify = (cert: unknown, now = NOW) => verifyCertificate(sodium, cert, { issuerKey: issuer.publicKey, nowSeconds: now })
/** Signs arbitrary bytes as a body, so tests can build certificates the issuer "really" signed but that are wrong inside. */
const signRaw = (bytes: Uint8Array) => ({ body: toBase64url(bytes), signature: toBase64url(sodium.crypto_sign_detached(bytes, issuer.privateKey)) })

describe('certificate verifier', () => {
  it('accepts a certificate signed by the issuer and returns its body', () => {
    const check = verify(signCertificate(sodium, body, issuer.privateKey))
    expect(check).toEqual({ ok: true, body })
  })

  it('signs the canonical encoding of the body', () => {
    const cert = signCertificate(sodium, body, issuer.privateKey)
    expect(fromBase64url(cert.body)).toEqual(canonicalEncode({ ...body }))
  })

  it('rejects a certificate from another issuer', () => {
    const other = sodium.crypto_sign_keypair()
    const check = verify(signCertificate(sodium, body, other.privateKey))
    expect(check).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('rejects an altered body', () => {
    const cert = signCertificate(sodium, body, issuer.privateKey)
    const altered = canonicalEncode({ ...body, user: 'mallory' })
    expect(verify({ ...cert, body: toBase64url(altered) })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('rejects expired and not-yet-valid certificates, with a skew allowance', () => {
    const cert = signCertificate(sodium, body, issuer.privateKey)
    expect(verify(cert, body.expires + CERTIFICATE_CLOCK_SKEW_SECONDS - 1).ok).toBe(true)
    expect(verify(cert, body.expires + CERTIFICATE_CLOCK_SKEW_SECONDS)).toMatchObject({ ok: false, reason: 'expired' })
    expect(verify(cert, body.issued - CERTIFICATE_CLOCK_SKEW_SECONDS - 1)).toMatchObject({ ok: false, reason: 'not_yet_valid' })
  })

  it('rejects another version', () => {
    const check = verify(signRaw(canonicalEncode({ ...body, v: 2 })))
    expect(check).toMatchObject({ ok: false, reason: 'bad_version' })
  })

  it('rejects a signed body that is not canonical', () => {
    const check = verify(signRaw(new TextEncoder().encode(JSON.stringify(body))))
    expect(check).toMatchObject({ ok: false, reason: 'not_canonical' })
  })

  it('rejects missing, extra and mistyped fields', () => {
    const { serial: _serial, ...withoutSerial } = body
    expect(verify(signRaw(canonicalEncode(withoutSerial)))).toMatchObject({ ok: false, reason: 'bad_fields' })
    expect(verify(signRaw(canonicalEncode({ ...body, admin: true })))).toMatchObject({ ok: false, reason: 'bad_fields' })
    expect(verify(signRaw(canonicalEncode({ ...body, user: 'Alice Smith' })))).toMatchObject({ ok: false, reason: 'bad_fields' })
    expect(verify(signRaw(canonicalEncode({ ...body, deviceKey: 'short' })))).toMatchObject({ ok: false, reason: 'bad_fields' })
    expect(verify(signRaw(canonicalEncode({ ...body, expires: body.issued })))).toMatchObject({ ok: false, reason: 'bad_fields' })
  })

  it('says why malformed input is rejected', () => {
    expect(verify(null)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verify({ body: 1, signature: 'x' })).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verify({ body: 'not base64!', signature: toBase64url(new Uint8Array(64)) })).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verify({ body: 'AAAA', signature: 'AAAA' })).toMatchObject({ ok: false, reason: 'malformed', message: expect.stringContaining('64 bytes') })
    expect(verify({ body: 'A'.repeat(5000), signature: toBase64url(new Uint8Array(64)) })).toMatchObject({ ok: false, reason: 'too_large' })
  })

  it('skips only the signature of the very certificate it was told is verified: times still count, any other is checked', () => {
    const cert = signCertificate(sodium, body, issuer.privateKey)
    const known = (other: unknown, now = NOW) => verifyCertificate(sodium, other, { issuerKey: issuer.publicKey, nowSeconds: now, verified: cert })
    const verify = sodium.crypto_sign_verify_detached
    let verifies = 0
    sodium.crypto_sign_verify_detached = (...args: Parameters<typeof verify>) => { verifies++; return verify(...args) }
    try {
      expect(known({ ...cert })).toEqual({ ok: true, body })
      expect(verifies).toBe(0)
    } finally {
      sodium.crypto_sign_verify_detached = verify
    }
    expect(known(cert, body.expires + CERTIFICATE_CLOCK_SKEW_SECONDS)).toMatchObject({ ok: false, reason: 'expired' })
    const altered = toBase64url(canonicalEncode({ ...body, user: 'mallory' }))
    expect(known({ ...cert, body: altered })).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(known(signCertificate(sodium, body, sodium.crypto_sign_keypair().privateKey))).toMatchObject({ ok: false, reason: 'bad_signature' })
  })
})

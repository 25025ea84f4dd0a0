// Devices with real certificates from a test login-server key, for the wire tests.
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'
import { signCertificate, type CertificateBody } from '../../common/certificate.js'
import type { DeviceIdentity } from '../../common/wire/device-identity.js'
import { signedRecordBytes, type SignedRecord } from '../../common/wire/signed-record.js'

/** Unix seconds the tests pretend it is. */
export const NOW = 1_800_000_000

export interface TestDevice {
  user: string
  /** base64url */
  deviceKey: string
  identity: DeviceIdentity
}

export interface Fixture {
  sodium: Sodium
  issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
  /** A device of `user` with a certificate from the test issuer (or `issuerSecretKey`), valid for an hour around NOW unless told otherwise. */
  device: (user: string, options?: { issued?: number, expires?: number, issuerSecretKey?: Uint8Array, keyPair?: { publicKey: Uint8Array, privateKey: Uint8Array } }) => TestDevice
}

export async function loadFixture (): Promise<Fixture> {
  const sodium = await loadSodium()
  const issuer = sodium.crypto_sign_keypair()
  let serial = 0
  return {
    sodium,
    issuer,
    device (user, options = {}) {
      const keyPair = options.keyPair ?? sodium.crypto_sign_keypair()
      const deviceKey = toBase64url(keyPair.publicKey)
      const body: CertificateBody = {
        v: 1, user, deviceKey, issued: options.issued ?? NOW - 60, expires: options.expires ?? NOW + 3600, serial: ++serial
      }
      const certificate = signCertificate(sodium, body, options.issuerSecretKey ?? issuer.privateKey)
      return { user, deviceKey, identity: { certificate, secretKey: keyPair.privateKey } }
    }
  }
}

/** A record signed over arbitrary body bytes, to build records that seal() would refuse to make. */
export function signRawRecord (sodium: Sodium, device: TestDevice, domain: string, bodyBytes: Uint8Array): SignedRecord {
  return {
    certificate: device.identity.certificate,
    body: toBase64url(bodyBytes),
    sig: toBase64url(sodium.crypto_sign_detached(signedRecordBytes(domain, bodyBytes), device.identity.secretKey))
  }
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export const fromUtf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

// The supernode bootstrap list: signed heartbeats, certificate checks, real
// dial-back to a WebSocket responder, replay guard, expiry and reconfirmation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestLoginServer, newDevice, signUp, type TestDevice, type TestLoginServer } from '../helpers/login-server.js'
import { DIALBACK_FAILED, listenForDialback } from '../../common/dialback.js'
import { canonicalEncode } from '../../common/canonical.js'
import { verifySupernodeCredential } from '../../common/supernode-credential.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { signCertificate, type Certificate, type CertificateBody } from '../../common/certificate.js'
import { supernodeHeartbeatBody, type SupernodeHeartbeat, type SupernodeInfo } from '../../common/login-api.js'
import { DEFAULT_CERTIFICATE_TTL_SECONDS, SUPERNODE_RECONFIRM_SECONDS, SUPERNODE_TTL_SECONDS } from '../../login-server/constants.js'
import { freePort } from '../helpers/ports.js'

interface Supernode { user: string, certificate: Certificate, device: TestDevice, auth: Record<string, string> }
interface Responder { address: string, close: () => Promise<void> }

let server: TestLoginServer
let responders: Responder[] = []

beforeEach(async () => {
  server = await createTestLoginServer()
})

afterEach(async () => {
  const open = responders
  responders = []
  try {
    await Promise.all(open.map(async responder => { await responder.close() }))
  } finally {
    await server?.close()
  }
})

/** A dial-back responder answering with `secretKey`; closed after the test (closing twice is harmless). */
async function respond (secretKey: Uint8Array, host = '127.0.0.1'): Promise<Responder> {
  const listener = await listenForDialback(server.sodium, { host, port: 0, secretKey })
  let closing: Promise<void> | undefined
  const responder = { address: listener.address, close: async () => { closing ??= listener.close(); await closing } }
  responders.push(responder)
  return responder
}

/** An address on which nothing listens: a port just bound and released. */
const deadAddress = async (): Promise<string> => `127.0.0.1:${await freePort()}`

const nowSeconds = (): number => Math.floor(server.now() / 1000)

function heartbeat (node: Supernode, address: string, options: {
  timestamp?: number, load?: { hosts: number, capacity: number }, certificate?: Certificate, signWith?: Uint8Array
} = {}): SupernodeHeartbeat {
  const unsigned = { address, load: options.load ?? { hosts: 3, capacity: 50 }, timestamp: options.timestamp ?? nowSeconds() }
  const signature = server.sodium.crypto_sign_detached(
    canonicalEncode(supernodeHeartbeatBody(unsigned, node.device.deviceKey)), options.signWith ?? node.device.secretKey)
  return { certificate: options.certificate ?? node.certificate, ...unsigned, signature: toBase64url(signature) }
}

/** The heartbeat as sent from `from` (the login server dials back only the address a heartbeat came from). */
async function post (hb: SupernodeHeartbeat, from = '127.0.0.1') {
  return await server.app.inject({ method: 'POST', url: '/v1/supernodes', payload: hb, remoteAddress: from })
}

async function supernode (user: string): Promise<Supernode> {
  const session = await signUp(server, user)
  return { user, certificate: session.certificate, device: session.device, auth: session.auth }
}

async function listed (auth: Record<string, string>): Promise<SupernodeInfo[]> {
  const res = await server.app.inject({ method: 'GET', url: '/v1/supernodes', headers: auth })
  expect(res.statusCode).toBe(200)
  return (res.json() as { supernodes: SupernodeInfo[] }).supernodes
}

async function liveCount (): Promise<number> {
  const res = await server.app.inject({ method: 'GET', url: '/healthz' })
  expect(res.statusCode).toBe(200)
  return (res.json() as { liveSupernodes: number }).liveSupernodes
}

function errorOf (res: { json: () => unknown }): { code: string, message: string } {
  return (res.json() as { error: { code: string, message: string } }).error
}

function decodeCertificateBody (certificate: Certificate): CertificateBody {
  return JSON.parse(Buffer.from(fromBase64url(certificate.body) as Uint8Array).toString('utf8')) as CertificateBody
}

describe('listing after dial-back', () => {
  it('a valid heartbeat is listed and handed out by login, GET /v1/supernodes and /healthz', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    expect(await liveCount()).toBe(0)

    const res = await post(heartbeat(node, responder.address, { load: { hosts: 7, capacity: 40 } }))
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ listed: true, heartbeatSeconds: 30, ttlSeconds: SUPERNODE_TTL_SECONDS, credential: expect.any(Object) })
    const credential = verifySupernodeCredential(server.sodium, res.json().credential, {
      issuerKey: server.signingKey.publicKey, nowSeconds: nowSeconds(), expect: { deviceKey: node.device.deviceKey, address: responder.address }
    })
    expect(credential.ok && credential.body.user).toBe('sn1')

    const expected = { user: 'sn1', address: responder.address, deviceKey: node.device.deviceKey, load: { hosts: 7, capacity: 40 } }
    const later = await signUp(server, 'caller')
    expect(later.supernodes).toEqual([expected])
    expect(await listed(later.auth)).toEqual([expected])
    expect(await liveCount()).toBe(1)
  })

  it('a later heartbeat updates the advertised load', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const t = nowSeconds()
    expect((await post(heartbeat(node, responder.address, { timestamp: t, load: { hosts: 1, capacity: 10 } }))).statusCode).toBe(200)
    expect((await post(heartbeat(node, responder.address, { timestamp: t + 1, load: { hosts: 9, capacity: 10 } }))).statusCode).toBe(200)
    expect((await listed(node.auth)).map(entry => entry.load)).toEqual([{ hosts: 9, capacity: 10 }])
  })

  it('an address where nothing listens is 422 unreachable and not listed', async () => {
    const node = await supernode('sn1')
    const address = await deadAddress()
    const res = await post(heartbeat(node, address))
    expect(res.statusCode).toBe(422)
    const error = errorOf(res)
    expect(error.code).toBe('unreachable')
    // Every dial-back failure reads the same (test/security/dialback.test.ts).
    expect(error.message).toBe(DIALBACK_FAILED)
    expect(await listed(node.auth)).toEqual([])
    expect(await liveCount()).toBe(0)
  })

  it('a responder holding another device\'s key is 422: its proof does not verify', async () => {
    const node = await supernode('sn1')
    const impostor = await respond(newDevice(server.sodium).secretKey)
    const res = await post(heartbeat(node, impostor.address))
    expect(res.statusCode).toBe(422)
    expect(errorOf(res).code).toBe('unreachable')
    expect(errorOf(res).message).toBe(DIALBACK_FAILED)
    expect(await listed(node.auth)).toEqual([])
  })

  it('a proof bound to another address is 422: it cannot be replayed for this one', async () => {
    const node = await supernode('sn1')
    const port = Number((await deadAddress()).split(':')[1])
    const listener = await listenForDialback(server.sodium, {
      host: '127.0.0.1', port, secretKey: node.device.secretKey, advertisedAddress: `localhost:${port}`
    })
    responders.push(listener)
    const res = await post(heartbeat(node, `127.0.0.1:${port}`))
    expect(res.statusCode).toBe(422)
    expect(errorOf(res).code).toBe('unreachable')
    expect(await liveCount()).toBe(0)
  })

  it('a heartbeat from the IPv4-mapped IPv6 form of the advertised address counts as from that address', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const res = await post(heartbeat(node, responder.address), '::ffff:127.0.0.1')
    expect(res.statusCode).toBe(200)
  })

  it('an IPv6 responder advertises a bracketed address that can be listed', async () => {
    const node = await supernode('sn1')
    let responder: Responder
    try {
      responder = await respond(node.device.secretKey, '::1')
    } catch (err) {
      // No IPv6 loopback on this machine: nothing to test.
      expect((err as NodeJS.ErrnoException).code).toMatch(/EADDRNOTAVAIL|EAFNOSUPPORT/)
      return
    }
    expect(responder.address).toMatch(/^\[::1\]:\d+$/)
    const res = await post(heartbeat(node, responder.address), '::1')
    expect(res.statusCode).toBe(200)
    expect((await listed(node.auth)).map(entry => entry.address)).toEqual([responder.address])
  })
})

describe('certificate and signature checks', () => {
  it('a certificate signed by another key is 401 invalid_certificate', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const rogue = newDevice(server.sodium)
    const forged = signCertificate(server.sodium, decodeCertificateBody(node.certificate), rogue.secretKey)
    const res = await post(heartbeat(node, responder.address, { certificate: forged }))
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('invalid_certificate')
    expect(errorOf(res).message).toContain('bad_signature')
    expect(await liveCount()).toBe(0)
  })

  it('an altered certificate body is 401 invalid_certificate', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const body = decodeCertificateBody(node.certificate)
    const altered = { ...node.certificate, body: toBase64url(canonicalEncode({ ...body, user: 'admin' })) }
    const res = await post(heartbeat(node, responder.address, { certificate: altered }))
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('invalid_certificate')
    expect(errorOf(res).message).toContain('bad_signature')

    const longer = { ...node.certificate, body: toBase64url(canonicalEncode({ ...body, expires: body.expires + 365 * 86400 })) }
    const res2 = await post(heartbeat(node, responder.address, { certificate: longer }))
    expect(res2.statusCode).toBe(401)
    expect(errorOf(res2).code).toBe('invalid_certificate')
    expect(await liveCount()).toBe(0)
  })

  it('an expired certificate is 401 invalid_certificate with reason expired', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    // Past the TTL and the verifier's clock-skew allowance.
    server.advance(DEFAULT_CERTIFICATE_TTL_SECONDS + 3600)
    const res = await post(heartbeat(node, responder.address))
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('invalid_certificate')
    expect(errorOf(res).message).toContain('expired')
    expect(await liveCount()).toBe(0)
  })

  it('a tampered heartbeat signature is 401 invalid_signature', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const hb = heartbeat(node, responder.address)
    const bytes = fromBase64url(hb.signature) as Uint8Array
    bytes[0] = (bytes[0] as number) ^ 0x01
    const res = await post({ ...hb, signature: toBase64url(bytes) })
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('invalid_signature')
    // The signature covers the load and address too.
    const changed = await post({ ...heartbeat(node, responder.address), load: { hosts: 0, capacity: 1_000_000 } })
    expect(changed.statusCode).toBe(401)
    expect(errorOf(changed).code).toBe('invalid_signature')
    expect(await liveCount()).toBe(0)
  })

  it('a heartbeat signed by a key other than the certificate\'s device key is 401 invalid_signature', async () => {
    const node = await supernode('sn1')
    const other = await supernode('sn2')
    const responder = await respond(node.device.secretKey)
    const res = await post(heartbeat(node, responder.address, { signWith: other.device.secretKey }))
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('invalid_signature')
    expect(await liveCount()).toBe(0)
  })

  it('a timestamp more than 60 s off server time is 422 stale_signature', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    for (const skew of [-75, 75]) {
      const res = await post(heartbeat(node, responder.address, { timestamp: nowSeconds() + skew }))
      expect(res.statusCode, `skew ${skew}`).toBe(422)
      expect(errorOf(res).code).toBe('stale_signature')
    }
    expect(await liveCount()).toBe(0)
    // Within the allowance it is fine.
    expect((await post(heartbeat(node, responder.address, { timestamp: nowSeconds() - 30 }))).statusCode).toBe(200)
  })

  it('a replayed heartbeat is 422 stale_signature, an older one too', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const t = nowSeconds()
    const hb = heartbeat(node, responder.address, { timestamp: t })
    expect((await post(hb)).statusCode).toBe(200)
    const replay = await post(hb)
    expect(replay.statusCode).toBe(422)
    expect(errorOf(replay).code).toBe('stale_signature')
    const older = await post(heartbeat(node, responder.address, { timestamp: t - 1 }))
    expect(older.statusCode).toBe(422)
    expect(errorOf(older).code).toBe('stale_signature')
    expect((await post(heartbeat(node, responder.address, { timestamp: t + 1 }))).statusCode).toBe(200)
  })

  it.each(['nohost', 'host:99999', '[zz]:1', 'host:0', '127.0.0.1', 'a b:80'])('malformed address %j is 400', async address => {
    const node = await supernode('sn1')
    const res = await post(heartbeat(node, address))
    expect(res.statusCode).toBe(400)
    expect(errorOf(res).code).toBe('invalid_request')
    expect(await liveCount()).toBe(0)
  })

  it('a heartbeat that does not match the schema is 400', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const hb = heartbeat(node, responder.address)
    for (const bad of [
      { ...hb, load: { hosts: -1, capacity: 5 } },
      { ...hb, timestamp: 1.5 },
      { ...hb, signature: 'short' },
      { address: hb.address, load: hb.load, timestamp: hb.timestamp, signature: hb.signature }
    ]) {
      const res = await server.app.inject({ method: 'POST', url: '/v1/supernodes', payload: bad })
      expect(res.statusCode, JSON.stringify(bad).slice(0, 80)).toBe(400)
    }
    expect(await liveCount()).toBe(0)
  })
})

describe('expiry and reconfirmation', () => {
  it('an entry without heartbeats expires after the TTL', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    expect((await post(heartbeat(node, responder.address))).statusCode).toBe(200)
    server.advance(60)
    expect(await liveCount()).toBe(1)
    expect(await listed(node.auth)).toHaveLength(1)

    server.advance(31)
    expect(await listed(node.auth)).toEqual([])
    expect(await liveCount()).toBe(0)
    expect((await signUp(server, 'caller')).supernodes).toEqual([])
  })

  it('heartbeats within the reconfirm time do not dial back again; after it they do', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    expect((await post(heartbeat(node, responder.address))).statusCode).toBe(200)
    // Nobody answers dial-back from now on.
    await responder.close()

    let elapsed = 0
    while (elapsed + 30 < SUPERNODE_RECONFIRM_SECONDS) {
      server.advance(30)
      elapsed += 30
      const res = await post(heartbeat(node, responder.address))
      expect(res.statusCode, `after ${elapsed} s`).toBe(200)
      expect(await liveCount()).toBe(1)
    }
    // Reconfirmation is due: the dial-back runs again, and fails.
    server.advance(30)
    const due = await post(heartbeat(node, responder.address))
    expect(due.statusCode).toBe(422)
    expect(errorOf(due).code).toBe('unreachable')
  })

  it('a heartbeat after expiry is dialed back again', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    expect((await post(heartbeat(node, responder.address))).statusCode).toBe(200)
    await responder.close()
    server.advance(SUPERNODE_TTL_SECONDS + 5)
    const res = await post(heartbeat(node, responder.address))
    expect(res.statusCode).toBe(422)
    expect(errorOf(res).code).toBe('unreachable')
    expect(await liveCount()).toBe(0)
  })

  it('a changed address is dialed back before it replaces the listed one', async () => {
    const node = await supernode('sn1')
    const responder = await respond(node.device.secretKey)
    const t = nowSeconds()
    expect((await post(heartbeat(node, responder.address, { timestamp: t }))).statusCode).toBe(200)
    const dead = await deadAddress()
    const moved = await post(heartbeat(node, dead, { timestamp: t + 1 }))
    expect(moved.statusCode).toBe(422)
    expect((await listed(node.auth)).map(entry => entry.address)).toEqual([responder.address])
  })
})

describe('GET /v1/supernodes', () => {
  it('needs a bearer token', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/v1/supernodes' })
    expect(res.statusCode).toBe(401)
    expect(errorOf(res).code).toBe('unauthorized')
  })
})

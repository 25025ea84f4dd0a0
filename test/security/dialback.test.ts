// Dial-back is not a port scanner for hire. A host may ask its supernode, and a
// supernode may ask the login server, to dial it back: the checker dials only
// the address the request came from, at a bounded rate, and every failure reads
// the same. Real sockets on loopback: a supernode (the real one, over the ws
// transport, with the real dialer) and hand-driven hosts speaking the link
// protocol from 127.0.0.1; "third" addresses on 127.0.0.5 with listeners that
// count every connection they get.
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { signCertificate, CERTIFICATE_VERSION } from '../../common/certificate.js'
import { toBase64url } from '../../common/base64url.js'
import { assignDhtId, dhtIdSecretOf, signSupernodeCredential } from '../../common/supernode-credential.js'
import { DIALBACK_FAILED, DIALBACK_TIMEOUT_MS, createDialer, listenForDialback } from '../../common/dialback.js'
import { sealEnvelope } from '../../common/wire/signed-envelope.js'
import { signLocator } from '../../common/wire/locator.js'
import { sealLocatorRecord } from '../../common/wire/sealed-locator.js'
import { LOOKUP_SECRET_BYTES, openOwnLookup, ownLookupFor, reachTokenOf } from '../../common/lookup-keys.js'
import { canonicalEncode } from '../../common/canonical.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { systemClock } from '../../common/clock.js'
import { supernodeHeartbeatBody, type SupernodeHeartbeat } from '../../common/login-api.js'
import { createWsTransport } from '../../node/net/ws-transport.js'
import type { Listener } from '../../node/net/transport.js'
import { openLink, type Link } from '../../node/overlay/link.js'
import { createSupernode, type Supernode } from '../../node/overlay/supernode/supernode.js'
import { silentLogger } from '../../common/logger.js'
import { DIALBACKS_PER_ADDRESS, DIALBACKS_PER_DEVICE, RECORD_LIFETIME_MS } from '../../node/overlay/constants.js'
import { DIALBACKS_PER_DEVICE as LOGIN_DIALBACKS_PER_DEVICE } from '../../login-server/constants.js'
import { createTestLoginServer, signUp, type TestLoginServer } from '../helpers/login-server.js'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet } from '../helpers/voxmesh-net.js'

/** A loopback address that is neither the requester's nor the checker's. */
const THIRD_ADDRESS = '127.0.0.5'

let sodium: Sodium
let issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
let sn: Supernode
let snListener: Listener
let cleanups: Array<() => Promise<void> | void> = []
let serial = 0
/** The login server's secret for users' lookup keys (here: the test stands in for it). */
let lookupSecret: Uint8Array

beforeEach(async () => {
  sodium = await loadSodium()
  issuer = sodium.crypto_sign_keypair()
  lookupSecret = sodium.randombytes_buf(LOOKUP_SECRET_BYTES)
  const transport = createWsTransport()
  const device = newDevice('supernode')
  // Bound first, so the supernode knows the address it advertises.
  let accept: (connection: Parameters<Supernode['acceptConnection']>[0]) => void = connection => { connection.close('not ready') }
  snListener = await transport.listen('127.0.0.1:0', connection => { accept(connection) })
  sn = createSupernode(
    { sodium, clock: systemClock, transport, identity: device.identity, issuerKey: issuer.publicKey, log: silentLogger, dialer: createDialer(sodium, DIALBACK_TIMEOUT_MS) },
    { address: snListener.address, user: 'supernode', deviceKey: device.deviceKey }
  )
  const issued = Math.floor(Date.now() / 1000)
  sn.admit(signSupernodeCredential(sodium, {
    user: 'supernode', deviceKey: device.deviceKey, address: snListener.address,
    dhtId: assignDhtId(dhtIdSecretOf(issuer.privateKey), device.deviceKey, issued), issued, expires: issued + 3600
  }, issuer.privateKey))
  accept = connection => { sn.acceptConnection(connection) }
})

afterEach(async () => {
  const pending = cleanups.reverse()
  cleanups = []
  for (const cleanup of pending) await cleanup()
  sn.close()
  await snListener.close()
})

interface Device { user: string, deviceKey: string, identity: LinkIdentity }

function newDevice (user: string): Device {
  const keys = sodium.crypto_sign_keypair()
  const issued = Math.floor(Date.now() / 1000)
  const deviceKey = toBase64url(keys.publicKey)
  const certificate = signCertificate(sodium, { v: CERTIFICATE_VERSION, user, deviceKey, issued, expires: issued + 3600, serial: ++serial }, issuer.privateKey)
  return { user, deviceKey, identity: { certificate, secretKey: keys.privateKey } }
}

/** A host of `user` (a fresh device) linked and registered at the supernode, from 127.0.0.1. */
async function registeredHost (user: string): Promise<Link & { device: Device }> {
  const device = newDevice(user)
  const connection = await createWsTransport({ localAddress: '127.0.0.1' }).dial(sn.ref.address)
  const link = await openLink({ sodium, clock: systemClock, identity: device.identity, issuerKey: issuer.publicKey, log: silentLogger }, connection, 'initiator', sn.ref.deviceKey)
  cleanups.push(() => { link.close('test over') })
  const now = Date.now()
  const registered = new Promise<string>(resolve => { link.onMessage = message => { resolve(message.t) } })
  const content = { seq: now, expires: Math.floor((now + RECORD_LIFETIME_MS) / 1000) }
  const locator = signLocator(sodium, device.identity, { supernode: { address: sn.ref.address, deviceKey: sn.ref.deviceKey }, ...content })
  const own = ownLookupFor(lookupSecret, user)
  link.send({
    t: 'register',
    locator,
    lookupRecord: sealLocatorRecord(sodium, openOwnLookup(sodium, own), locator, { deviceKey: device.deviceKey, ...content }),
    reachToken: reachTokenOf(own.sealKey),
    audience: [],
    presence: sealEnvelope(sodium, device.identity, { type: 'presence', from: user, status: 'online', seq: now, expires: now + RECORD_LIFETIME_MS }),
    offline: sealEnvelope(sodium, device.identity, { type: 'presence', from: user, status: 'offline', seq: now + 1, expires: now + RECORD_LIFETIME_MS })
  })
  link.send({ t: 'contact-capabilities', capabilities: [], last: true })
  expect(await registered).toBe('registered')
  return Object.assign(link, { device })
}

async function askDialback (link: Link, address: string): Promise<{ ok: boolean, reason: string }> {
  const reply = await link.request({ t: 'dialback-request', id: link.nextId(), address }, 'dialback-result', DIALBACK_TIMEOUT_MS * 3)
  return { ok: reply.ok, reason: reply.reason }
}

/** A TCP listener that counts the connections it accepts (and says nothing); closed after the test. */
async function countingListener (host: string): Promise<{ address: string, connections: () => number }> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer(socket => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  cleanups.push(() => new Promise<void>(resolve => {
    for (const socket of sockets) socket.destroy()
    server.close(() => { resolve() })
  }))
  return { address: `${host}:${(server.address() as { port: number }).port}`, connections: () => connections }
}

/** A plain HTTP server (another service) on 127.0.0.1. */
async function httpServer (): Promise<string> {
  const server = createHttpServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('hello\n') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => { resolve() }) }))
  return `127.0.0.1:${(server.address() as { port: number }).port}`
}

/** An address on 127.0.0.1 where nothing listens. */
const closedPort = async (): Promise<string> => `127.0.0.1:${await freePort()}`

/** A real dial-back responder for `device` on `host`, counting the checks it gets. */
async function responder (device: { identity: { secretKey: Uint8Array } }, host = '127.0.0.1'): Promise<{ address: string, connections: () => number }> {
  const listener = await listenForDialback(sodium, { host, port: 0, secretKey: device.identity.secretKey })
  cleanups.push(() => listener.close())
  return { address: listener.address, connections: () => listener.checks() }
}

describe('a supernode asked by its host for a dial-back', () => {
  it('never dials an address other than the one the request came from, and answers with the one failure text', async () => {
    const attacker = await registeredHost('mallory')
    const third = await countingListener(THIRD_ADDRESS)
    // Even a valid proof of the attacker's own key, served from another address, is not dialed.
    const proofElsewhere = await responder(attacker.device, THIRD_ADDRESS)
    expect(await askDialback(attacker, third.address)).toEqual({ ok: false, reason: DIALBACK_FAILED })
    expect(await askDialback(attacker, proofElsewhere.address)).toEqual({ ok: false, reason: DIALBACK_FAILED })
    // A host name could name anyone: refused the same way.
    expect(await askDialback(attacker, `localhost:${third.address.split(':')[1] as string}`)).toEqual({ ok: false, reason: DIALBACK_FAILED })
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(third.connections()).toBe(0)
    expect(proofElsewhere.connections()).toBe(0)
  })

  it('answers a closed port, an HTTP server and a silent service at the requester\'s own address with the same text', async () => {
    const attacker = await registeredHost('mallory')
    const silent = await countingListener('127.0.0.1')
    const answers = await Promise.all([await closedPort(), await httpServer(), silent.address].map(async address => await askDialback(attacker, address)))
    expect(answers).toEqual([
      { ok: false, reason: DIALBACK_FAILED },
      { ok: false, reason: DIALBACK_FAILED },
      { ok: false, reason: DIALBACK_FAILED }
    ])
  })

  it('runs at most a burst of dial-backs per device key; the rest get the same failure and dial nothing', async () => {
    const host = await registeredHost('eager')
    const own = await responder(host.device)
    const answers = await Promise.all(Array.from({ length: DIALBACKS_PER_DEVICE.burst + 5 }, async () => await askDialback(host, own.address)))
    expect(answers.filter(a => a.ok)).toHaveLength(DIALBACKS_PER_DEVICE.burst)
    expect(answers.filter(a => !a.ok)).toEqual(Array(5).fill({ ok: false, reason: DIALBACK_FAILED }))
    expect(own.connections()).toBe(DIALBACKS_PER_DEVICE.burst)
  })

  it('runs at most a burst of dial-backs per source address, however many devices ask', async () => {
    const hosts = await Promise.all(Array.from({ length: DIALBACKS_PER_ADDRESS.burst + 3 }, async (_, i) => await registeredHost(`sybil${i}`)))
    const responders = await Promise.all(hosts.map(async host => await responder(host.device)))
    const answers = await Promise.all(hosts.map(async (host, i) => await askDialback(host, (responders[i] as { address: string }).address)))
    expect(answers.filter(a => a.ok)).toHaveLength(DIALBACKS_PER_ADDRESS.burst)
    expect(answers.filter(a => !a.ok)).toEqual(Array(3).fill({ ok: false, reason: DIALBACK_FAILED }))
    expect(responders.reduce((sum, r) => sum + r.connections(), 0)).toBe(DIALBACKS_PER_ADDRESS.burst)
  })
})

describe('the login server asked for a dial-back by a supernode heartbeat', () => {
  let server: TestLoginServer
  beforeEach(async () => { server = await createTestLoginServer({ dialbackTimeoutMs: DIALBACK_TIMEOUT_MS }) })
  afterEach(async () => { await server.close() })

  const heartbeat = (node: { device: { deviceKey: string, secretKey: Uint8Array }, certificate: SupernodeHeartbeat['certificate'] }, address: string, timestamp = Math.floor(server.now() / 1000)): SupernodeHeartbeat => {
    const unsigned = { address, load: { hosts: 0, capacity: 10 }, timestamp }
    const signature = sodium.crypto_sign_detached(canonicalEncode(supernodeHeartbeatBody(unsigned, node.device.deviceKey)), node.device.secretKey)
    return { certificate: node.certificate, ...unsigned, signature: toBase64url(signature) }
  }
  const post = async (hb: SupernodeHeartbeat, from = '127.0.0.1') =>
    await server.app.inject({ method: 'POST', url: '/v1/supernodes', payload: hb, remoteAddress: from })
  const errorOf = (res: { json: () => unknown }): { code: string, message: string } => (res.json() as { error: { code: string, message: string } }).error

  it('refuses an advertised address that is not the heartbeat\'s source, the same way, without dialing it', async () => {
    const node = await signUp(server, 'mallory')
    const third = await countingListener(THIRD_ADDRESS)
    const res = await post(heartbeat(node, third.address))
    expect(res.statusCode).toBe(422)
    expect(errorOf(res)).toEqual({ code: 'unreachable', message: DIALBACK_FAILED })
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(third.connections()).toBe(0)
  })

  it('answers a closed port, an HTTP server and a silent service the same way', async () => {
    const silent = await countingListener('127.0.0.1')
    const targets = [await closedPort(), await httpServer(), silent.address]
    const answers = await Promise.all(targets.map(async (address, i) => {
      const node = await signUp(server, `probe${i}`)
      const res = await post(heartbeat(node, address))
      return { status: res.statusCode, error: errorOf(res) }
    }))
    expect(answers).toEqual(Array(3).fill({ status: 422, error: { code: 'unreachable', message: DIALBACK_FAILED } }))
  })

  it('dials back one device at most a few times per window, then answers with the same failure and dials nothing', async () => {
    const node = await signUp(server, 'flapper')
    const responders = [await responder({ identity: node.device }), await responder({ identity: node.device }), await responder({ identity: node.device })]
    const t = Math.floor(server.now() / 1000)
    const statuses: number[] = []
    // Each heartbeat moves the address (round three responders), so each needs a dial-back.
    for (let i = 0; i < LOGIN_DIALBACKS_PER_DEVICE.limit + 2; i++) {
      const res = await post(heartbeat(node, (responders[i % 3] as { address: string }).address, t + i))
      statuses.push(res.statusCode)
      if (res.statusCode !== 200) expect(errorOf(res)).toEqual({ code: 'unreachable', message: DIALBACK_FAILED })
    }
    expect(statuses).toEqual([...Array(LOGIN_DIALBACKS_PER_DEVICE.limit).fill(200), 422, 422])
    expect(responders.reduce((sum, r) => sum + r.connections(), 0)).toBe(LOGIN_DIALBACKS_PER_DEVICE.limit)
  })
})

describe('honest nodes on addresses of their own (real processes)', () => {
  let voxnet: Awaited<ReturnType<typeof startVoxmeshNet>> | undefined
  afterEach(async () => {
    await killAll()
    voxnet?.cleanup()
    voxnet = undefined
  })

  it('are still listed and promoted: heartbeats and dial-back requests leave from the advertised IP', async () => {
    voxnet = await startVoxmeshNet()
    for (const user of ['seed', 'climber']) await voxnet.createAccount(user)
    // The login server listens on 127.0.0.1: the seed is listed only if its heartbeat comes from 127.0.0.2.
    await voxnet.startNode('seed', ['--role', 'supernode', '--listen', `127.0.0.2:${await freePort()}`, '--min-supernodes', '2'])
    // The climber finds the seed through the login server's list, then asks it for a dial-back of 127.0.0.3.
    const climber = await voxnet.startNode('climber', ['--role', 'auto', '--listen', `127.0.0.3:${await freePort()}`,
      '--promote-after', '1s', '--min-free-memory', '0', '--max-load-per-core', '1000'])
    await climber.waitForEvent(e => e.event === 'attached')
    expect(await climber.waitForEvent(e => e.event === 'role', 30_000)).toMatchObject({ role: 'supernode', reason: expect.stringContaining('needs capacity') })
  }, 90_000)
})

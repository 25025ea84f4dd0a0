// STUN/TURN abuse of a real supernode's relay (garbage and truncated packets, wrong credentials,
// an allocation flood, foreign releases), tampered SDP to real callers and callees, and then a
// relay-only call through the same relay. Every refusal must be counted and logged with its
// reason, and service must go on. test/turn/ covers the TURN server alone; this file covers it on
// a running supernode, next to the calls it serves: real nodes in this process, real UDP, real
// node-datachannel sessions.
import { type CallBodyOf } from '../../node/calls/call-bodies.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { systemClock } from '../../common/clock.js'
import { loadSodium } from '../../common/sodium.js'
import type { RunningLoginServer } from '../../login-server/server.js'
import { openSealedSdp, sealSdp } from '../../node/calls/sealed-sdp.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { readWavFile } from '../../node/media/audio/wav.js'
import { shutdownMedia } from '../../node/media/media-session.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { METHOD } from '../../node/relay/constants.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeStunMessage, encodeStunMessage, type StunMessage } from '../../node/relay/stun/message.js'
import { createWsTransport } from '../../node/net/ws-transport.js'
import { createSupernodeCache, supernodeRef } from '../../node/overlay/supernode-cache.js'
import { createHost, type Host, type HostEvent } from '../../node/overlay/host.js'
import type { NodeEvent, NodeStatus } from '../../node/runtime/api.js'
import { openDataDir } from '../../node/runtime/data-dir.js'
import { openLoginSession, type LoginSession } from '../../node/runtime/login-session.js'
import type { RunningNode } from '../../node/runtime/node.js'
import { freePort } from '../helpers/ports.js'
import { recordingLogger, type LogEntry } from '../overlay/bad-input-harness.js'
import { newTransactionId } from '../turn/helpers.js'
import { closeAllSockets, Inbox, UdpTurnClient, udpSocket } from '../turn/udp-client.js'
import { waitUntil } from '../helpers/wait.js'
import { startInProcessNet, type InProcessNet } from '../helpers/in-process-net.js'
import { TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { expectLogged, expectNoUnhandledRejections, makeContacts, newCallId, sdpOf, withSecondMLine, withoutFingerprint } from './attack-kit.js'

afterAll(() => { shutdownMedia() })
expectNoUnhandledRejections()

describe('a real supernode\'s STUN/TURN relay under abuse, then a relayed call', () => {
  const PASSWORD = TEST_PASSWORD
  const CALL_SECONDS = 3
  let net: InProcessNet
  let dir: string
  let login: RunningLoginServer
  let sn: RunningNode, alice: RunningNode, bob: RunningNode
  let turnServer: TransportAddress
  const logs = new Map<string, LogEntry[]>()
  let events: Map<RunningNode, NodeEvent[]>
  /** Mallory: a plain host on the real network, driven by hand (no call service of her own). */
  let mallory: Host
  let malloryDevice: { deviceKey: string, secretKey: Uint8Array }
  let mallorySession: LoginSession
  const malloryEvents: HostEvent[] = []
  const logsOf = (user: string): LogEntry[] => {
    let list = logs.get(user)
    if (list === undefined) logs.set(user, list = [])
    return list
  }

  const nodeEvent = async <E extends NodeEvent['event']>(node: RunningNode, event: E, match: (e: Extract<NodeEvent, { event: E }>) => boolean = () => true): Promise<Extract<NodeEvent, { event: E }>> =>
    await net.waitForEvent(node, e => e.event === event && match(e as Extract<NodeEvent, { event: E }>), 15_000) as Extract<NodeEvent, { event: E }>
  const signalToMallory = async (type: string, callId: string): Promise<Extract<HostEvent, { event: 'application-body' }>> =>
    await waitUntil(`${type} for mallory`, () => malloryEvents.find((e): e is Extract<HostEvent, { event: 'application-body' }> => e.event === 'application-body' && e.body.type === type && e.body.callId === callId), 15_000)
  const relay = (): NonNullable<NodeStatus['relay']> => {
    const counters = sn.status().relay
    if (counters === null) throw new Error('the supernode runs no relay')
    return counters
  }

  const node: InProcessNet['startNode'] = async (user, extra) => await net.startNode(user, extra)

  beforeAll(async () => {
    net = await startInProcessNet({ dirPrefix: 'voxmesh-bad-calls-', users: ['super1', 'alice', 'bob', 'mallory'], log: user => recordingLogger(logsOf(user)) })
    dir = net.dir
    login = net.login
    events = net.events
    // Mallory attacks as a contact: nobody else can find alice or bob at all.
    await makeContacts(login.url, PASSWORD, [['alice', 'bob'], ['alice', 'mallory'], ['bob', 'mallory']])
    // On 127.0.0.2, as in audio-call.test.ts: a relay-only session cannot sneak a direct path.
    // loopback peers: the lab flag.
    sn = await node('super1', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, relayAllowPrivate: true })
    const [host, port] = (sn.status().listen as string).split(':') as [string, string]
    turnServer = { address: host, port: Number(port) }
    alice = await node('alice')
    bob = await node('bob', { calls: { autoAnswer: true, anyone: true, recordDir: join(dir, 'recordings') } })

    const sodium = await loadSodium()
    const dataDir = openDataDir(sodium, join(dir, 'mallory'))
    malloryDevice = { deviceKey: dataDir.device.deviceKey, secretKey: dataDir.device.secretKey }
    mallorySession = await openLoginSession({ url: login.url, user: 'mallory', credentials: { password: PASSWORD }, dataDir, log: recordingLogger(logsOf('mallory')) })
    const cache = createSupernodeCache()
    cache.add(mallorySession.supernodes.map(supernodeRef), Date.now())
    const malloryContacts = (await mallorySession.contactsAndBlocks()).contacts
    mallory = createHost(
      { sodium, clock: systemClock, transport: createWsTransport(), identity: { certificate: mallorySession.certificate, secretKey: dataDir.device.secretKey }, issuerKey: mallorySession.issuerKey, log: recordingLogger(logsOf('mallory')), cache },
      {
        user: 'mallory',
        deviceKey: dataDir.device.deviceKey,
        audience: malloryContacts.map(c => c.username),
        lookup: mallorySession.lookup,
        capabilities: malloryContacts.flatMap(c => c.lookupKey === undefined || c.sealKey === undefined ? [] : [{ user: c.username, lookupKey: c.lookupKey, sealKey: c.sealKey }]),
        onEvent: event => { malloryEvents.push(event) }
      }
    )
    mallory.start()
    for (const user of [alice, bob]) await nodeEvent(user, 'attached')
    await waitUntil('mallory attached', () => mallory.supernode, 15_000)
  }, 60_000)

  afterAll(async () => {
    mallory?.close()
    mallorySession?.close()
    await net?.close()
    await closeAllSockets()
  }, 30_000)

  it('garbage and truncated UDP packets to its TURN port: dropped as malformed or answered 400, counted and logged; Binding still answered', async () => {
    const before = relay()
    const socket = await udpSocket()
    const inbox = new Inbox(socket)
    const junk = [
      Buffer.alloc(1, 0xff),
      Buffer.alloc(64, 0xff),
      Buffer.from('\xffGET / HTTP/1.1\r\nHost: voxmesh\r\n\r\n', 'latin1'),
      Buffer.concat([Buffer.from([0xc0]), randomBytes(500)]),
      Buffer.alloc(1200, 0x80)
    ]
    const request = (transactionId: Uint8Array): Uint8Array =>
      encodeStunMessage({ method: METHOD.BINDING, class: 'request', transactionId, attributes: [{ type: 'SOFTWARE', value: 'x'.repeat(40) }] }, { fingerprint: true })
    const cut = newTransactionId()
    const truncatedHeader = request(newTransactionId()).subarray(0, 12)
    const truncatedBody = request(cut).subarray(0, 40)
    for (const bytes of [...junk, truncatedHeader, truncatedBody]) socket.send(bytes, turnServer.port, turnServer.address)
    const fine = newTransactionId()
    socket.send(request(fine), turnServer.port, turnServer.address)

    const sameTransaction = (id: Uint8Array) => (bytes: Buffer): boolean => bytes.length >= 20 && bytes.subarray(8, 20).equals(Buffer.from(id))
    const decode = (bytes: Buffer): StunMessage => {
      const decoded = decodeStunMessage(bytes)
      if (!decoded.ok) throw new Error(decoded.reason)
      return decoded.message
    }
    const refused = decode((await inbox.next(5000, sameTransaction(cut))).bytes)
    expect(findAttribute(refused, 'ERROR-CODE')?.value).toEqual({ code: 400, reason: expect.stringMatching(/^Bad Request: truncated/) })
    const binding = decode((await inbox.next(5000, sameTransaction(fine))).bytes)
    expect(binding.class).toBe('success')
    expect(findAttribute(binding, 'XOR-MAPPED-ADDRESS')?.value).toEqual(inbox.address)
    expect(await inbox.quiet(200), 'no answer to garbage').toBe(true)

    const after = relay()
    expect((after.dropped.malformed ?? 0) - (before.dropped.malformed ?? 0)).toBe(junk.length + 1)
    expect((after.errorResponses[400] ?? 0) - (before.errorResponses[400] ?? 0)).toBe(1)
    const turnLogs = logsOf('super1').filter(l => l.fields.component === 'turn')
    expectLogged(turnLogs, 'debug', /^turn: packet dropped$/, { reason: 'malformed', detail: expect.stringMatching(/is neither STUN nor ChannelData/) })
    expectLogged(turnLogs, 'debug', /^turn: packet dropped$/, { reason: 'malformed', detail: expect.stringMatching(/truncated/) })
    expectLogged(turnLogs, 'debug', /^turn: bad request$/, { reason: expect.stringMatching(/^truncated/) })
  })

  it('an Allocate with wrong TURN credentials gets 401 with the reason, counted and logged; no allocation is made', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials()
    expect(issued).toBeDefined()
    const { username, password } = issued as { username: string, password: string }
    const expiry = Number(username.split(':')[0])
    const wrong = [
      { username, password: `${password}x` }, // her own user name, a guessed password
      { username: `${expiry}:alice`, password }, // another user's name with her password
      { username: `${expiry + 86_400}:mallory`, password } // a longer life than was issued
    ]
    for (const credentials of wrong) {
      const client = await UdpTurnClient.open(turnServer, { ...credentials, expiresAt: expiry * 1000, user: 'mallory' }, 'voxmesh')
      const response = await client.allocate()
      expect(findAttribute(response, 'ERROR-CODE')?.value).toEqual({ code: 401, reason: 'Unauthenticated: wrong credentials (MESSAGE-INTEGRITY does not match)' })
      expect(findAttribute(response, 'XOR-RELAYED-ADDRESS')).toBeUndefined()
    }
    const after = relay()
    // Each: the challenge (no MESSAGE-INTEGRITY yet), then the refusal.
    expect((after.errorResponses[401] ?? 0) - (before.errorResponses[401] ?? 0)).toBe(2 * wrong.length)
    expect(after.allocations).toBe(before.allocations)
    const refusals = logsOf('super1').filter(l => l.msg === 'turn: unauthenticated request' && l.fields.reason === 'wrong credentials (MESSAGE-INTEGRITY does not match)')
    expect(refusals).toHaveLength(wrong.length)
  })

  it('an allocation flood from one user (credentials from her host, the legit way) hits the per-user quota: 486, counted and logged', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials() as { username: string, password: string }
    const clients: UdpTurnClient[] = []
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 13; i++) {
      const client = await UdpTurnClient.open(turnServer, { username: issued.username, password: issued.password, expiresAt: 0, user: 'mallory' }, 'voxmesh')
      clients.push(client)
      const response = await client.allocate()
      codes.push(findAttribute(response, 'ERROR-CODE')?.value.code)
    }
    expect(codes.filter(code => code === undefined)).toHaveLength(10) // DEFAULT_MAX_ALLOCATIONS_PER_USER
    expect(codes.slice(10)).toEqual([486, 486, 486])
    const flooded = relay()
    expect(flooded.allocations - before.allocations).toBe(10)
    expect((flooded.errorResponses[486] ?? 0) - (before.errorResponses[486] ?? 0)).toBe(3)
    expectLogged(logsOf('super1'), 'info', /^turn: allocation quota reached$/, { component: 'turn', user: 'mallory', allocations: 10 })
    // She can give them back (Refresh with LIFETIME 0); the relay is as it was.
    for (const client of clients.slice(0, 10)) {
      const response = await client.request(METHOD.REFRESH, [{ type: 'LIFETIME', value: 0 }])
      expect(findAttribute(response, 'ERROR-CODE')).toBeUndefined()
    }
    expect(relay().allocations).toBe(before.allocations)
  })

  it('turn-release from a host ends only its own allocations at the addresses it names', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials() as { username: string, password: string }
    const client = await UdpTurnClient.open(turnServer, { username: issued.username, password: issued.password, expiresAt: 0, user: 'mallory' }, 'voxmesh')
    const relayed = findAttribute(await client.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(relay().allocations).toBe(before.allocations + 1)
    // Someone else's relayed port on the same relay IP, and one nobody holds: nothing happens to them.
    mallory.releaseTurn([{ ip: relayed.address, port: relayed.port === 65535 ? 65534 : relayed.port + 1 }])
    await waitUntil('the refused release', () => logsOf('super1').find(l => l.msg === 'TURN allocations released after a call' && l.fields.ended === 0), 15_000)
    expect(relay().allocations).toBe(before.allocations + 1)
    mallory.releaseTurn([{ ip: relayed.address, port: relayed.port }])
    await waitUntil('the release', () => relay().allocations === before.allocations || undefined, 15_000)
  })

  it('a tampered answer (two m-lines) to a real caller: its media session refuses it, the call fails at once with the reason logged', async () => {
    const { callId } = await alice.placeCall('mallory')
    await signalToMallory('call-invite', callId)
    expect((await mallory.send('alice', { type: 'call-accept', callId })).delivered).toBe(1)
    const offer = await signalToMallory('call-offer', callId)
    const body = offer.body as unknown as CallBodyOf<'call-offer'>
    expect(body.device).toBe(malloryDevice.deviceKey)
    const offerSdp = openSealedSdp(await loadSodium(), body.sdp, malloryDevice.secretKey) as string
    expect(checkRemoteSdp(offerSdp, 'offer').ok).toBe(true)
    const answer = withSecondMLine(offerSdp.replace('a=setup:actpass', 'a=setup:active'))
    await mallory.send('alice', { type: 'call-answer', callId, device: alice.deviceKey, sdp: sealSdp(await loadSodium(), answer, alice.deviceKey) })
    const ended = await nodeEvent(alice, 'call-ended', e => e.callId === callId)
    expect(ended).toMatchObject({ reason: 'failed', peer: 'mallory' })
    expectLogged(logsOf('alice'), 'warn', /^answer SDP refused: more than one m-line$/, { callId })
    expectLogged(logsOf('alice'), 'warn', /^refused the remote answer: more than one m-line$/)
    expect(events.get(alice)?.some(e => e.event === 'call-connected' && e.callId === callId)).toBe(false)
    await signalToMallory('call-end', callId)
  })

  it('a tampered offer (no fingerprint) to a real callee: not answered, the call fails with the reason logged', async () => {
    const callId = newCallId()
    expect((await mallory.send('bob', { type: 'call-invite', callId, at: Date.now() })).delivered).toBe(1)
    await nodeEvent(bob, 'call-incoming', e => e.callId === callId) // bob answers by himself
    await signalToMallory('call-accept', callId)
    const offer = withoutFingerprint(sdpOf('offer', 'mallory'))
    await mallory.send('bob', { type: 'call-offer', callId, device: bob.deviceKey, sdp: sealSdp(await loadSodium(), offer, bob.deviceKey), relayOnly: false })
    const ended = await nodeEvent(bob, 'call-ended', e => e.callId === callId)
    expect(ended).toMatchObject({ reason: 'failed', peer: 'mallory' })
    expectLogged(logsOf('bob'), 'warn', /^media answer failed: offer refused: no a=fingerprint:sha-256$/, { callId })
    expectLogged(logsOf('bob'), 'warn', /^refused the remote offer: no a=fingerprint:sha-256$/)
    expect(malloryEvents.some(e => e.event === 'application-body' && e.body.type === 'call-answer' && e.body.callId === callId)).toBe(false)
    const end = await signalToMallory('call-end', callId)
    expect(end.body).toMatchObject({ reason: 'failed' })
  })

  it('afterwards a relay-only call between two users connects through the same relay and carries a 440 Hz tone', async () => {
    const before = relay()
    const { callId } = await alice.placeCall('bob', { tone: 440, relayOnly: true })
    const connected = await nodeEvent(alice, 'call-connected', e => e.callId === callId)
    expect(connected.path).toBe('relay')
    await new Promise(resolve => setTimeout(resolve, CALL_SECONDS * 1000))
    alice.hangup(callId)
    const ended = await nodeEvent(bob, 'call-ended', e => e.callId === callId)
    expect(ended.reason).toBe('hangup')
    const after = relay()
    expect(after.toPeer.packets + after.fromPeer.packets - before.toPeer.packets - before.fromPeer.packets).toBeGreaterThan(CALL_SECONDS * 50)

    const wav = readWavFile(ended.recording as string)
    expect(wav.sampleRate).toBe(48_000)
    const steady = wav.samples.subarray(wav.sampleRate / 2, wav.sampleRate / 2 + wav.sampleRate)
    expect(Math.abs(dominantFrequency(steady, wav.sampleRate) - 440)).toBeLessThan(3)
    expect(levelDbfs(steady)).toBeGreaterThan(-20)
  })
})

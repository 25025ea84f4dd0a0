// A real supernode on the in-memory network with a fake clock, legitimate
// hosts (createHost), and hand-driven peers that speak the link protocol from
// its real pieces (createLinkHandshake, the frame cipher) so a test can send
// exactly the bytes it wants: the attacker of test/overlay/bad-input.test.ts.
import { assignDhtId, dhtIdSecretOf, signSupernodeCredential, type SupernodeCredential } from '../../common/supernode-credential.js'
import { expect } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { signCertificate, CERTIFICATE_VERSION } from '../../common/certificate.js'
import { toBase64url } from '../../common/base64url.js'
import { createLinkHandshake, type LinkError, type LinkIdentity, type LinkPeer } from '../../common/wire/link-handshake.js'
import type { FrameCipher } from '../../common/wire/frame-cipher.js'
import { sealText } from '../../node/overlay/sealed-text.js'
import { sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { signLocator } from '../../common/wire/locator.js'
import { sealLocatorRecord } from '../../common/wire/sealed-locator.js'
import { capabilityFor, LOOKUP_SECRET_BYTES, openOwnLookup, ownLookupFor, reachTokenOf, type LookupCapability, type OwnLookup } from '../../common/lookup-keys.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createMemoryNetwork, type MemoryNetwork } from '../../node/net/memory-network.js'
import type { Connection, Listener } from '../../node/net/transport.js'
import { createSupernode, type Supernode } from '../../node/overlay/supernode/supernode.js'
import { createHost, type Host, type HostEvent } from '../../node/overlay/host.js'
import { createHostCache } from '../../node/overlay/host-cache.js'
import type { DhtRecord } from '../../node/overlay/dht/dht.js'
import { RECORD_LIFETIME_MS } from '../../node/overlay/constants.js'
import { decodeLinkMessage, type LinkMessage, type MessageOf, type SupernodeRef } from '../../node/overlay/messages.js'
import type { Logger } from '../../common/logger.js'

export const SN_PORT = 7701
const LATENCY_MS = 2

// ---------------------------------------------------------------- logging

export interface LogEntry { level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string }

/** A Logger that appends every line (with its child bindings merged into the fields) to `entries`. */
export function recordingLogger (entries: LogEntry[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: LogEntry['level']) => (fields: object, msg: string): void => {
    entries.push({ level, fields: { ...bindings, ...fields }, msg })
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: more => recordingLogger(entries, { ...bindings, ...more })
  }
}

// ---------------------------------------------------------------- identities

export interface Device { user: string, deviceKey: string, identity: LinkIdentity }

export interface DeviceOptions {
  /** Unix seconds; default now. */
  issued?: number
  /** Seconds after `issued`; default a day. */
  lifetimeSeconds?: number
  /** Sign with this key instead of the issuer the supernode trusts. */
  issuerSecretKey?: Uint8Array
}

// ---------------------------------------------------------------- a hand-driven peer

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

// ---------------------------------------------------------------- legitimate hosts

export interface LegitHost { user: string, device: Device, host: Host, events: HostEvent[], logs: LogEntry[] }

// ---------------------------------------------------------------- the harness

export interface HarnessOptions {
  /** Transport frame bound of the memory network (default the real MAX_FRAME_BYTES). */
  maxFrameBytes?: number
  /** Supernodes in the mesh (default 1); hosts and attackers use the first. */
  supernodes?: number
}

export interface Harness {
  sodium: Sodium
  clock: FakeClock
  network: MemoryNetwork
  issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
  /** What the login server signs for an admitted supernode at `address`. */
  credentialFor: (dev: Device, address: string) => SupernodeCredential
  /** The hello of an admitted supernode at `address` (a rogue one may well be admitted). */
  peerHello: (dev: Device, address: string) => MessageOf<'peer-hello'>
  /** The supernode under attack. */
  sn: Supernode
  snIp: string
  /** Everything the supernode under attack logged. */
  snLogs: LogEntry[]
  supernodes: Supernode[]
  device: (user: string, options?: DeviceOptions) => Device
  run: (ms: number, stepMs?: number) => Promise<void>
  /** A legitimate host of `user`, registered at the supernode under attack, holding its contacts' lookup capabilities. */
  addHost: (user: string, contacts?: string[]) => Promise<LegitHost>
  /** What the login server gives `user` (its own lookup) and its contacts (its capability). */
  lookupFor: (user: string) => OwnLookup
  capabilityFor: (user: string) => LookupCapability
  /** A raw connection to the supernode under attack, nothing sent yet. */
  connect: () => Promise<WirePeer>
  /** A connection with a completed link handshake as `device` (a fresh device of `user` when a string). */
  attacker: (who: string | Device) => Promise<WirePeer & { device: Device }>
  /** A valid register message for `device` at the supernode under attack (signed like host.ts does). */
  registerFor: (device: Device, overrides?: Partial<MessageOf<'register'>>) => MessageOf<'register'>
  /** An attacker that registered properly, got 'registered' and handed over the capabilities of `capabilitiesFor`. */
  registeredAttacker: (who: string | Device, capabilitiesFor?: string[]) => Promise<WirePeer & { device: Device }>
  /** A signed text envelope from `device` to `to`. */
  text: (device: Device, to: string, text?: string) => Envelope
  /** The DHT records the supernode under attack holds for `user`, asked over the wire by a probing supernode peer. */
  dhtRecords: (user: string) => Promise<DhtRecord[]>
  /** Warn lines "disconnecting peer: ..." the supernode logged. */
  disconnects: () => LogEntry[]
  /** A legitimate host can still register, and exchange a message (with a receipt) with another one. */
  expectStillServing: () => Promise<void>
  close: () => void
}

export async function createHarness (options: HarnessOptions = {}): Promise<Harness> {
  const sodium = await loadSodium()
  const clock = new FakeClock()
  const network = createMemoryNetwork({ clock, latencyMs: LATENCY_MS, maxFrameBytes: options.maxFrameBytes })
  const issuer = sodium.crypto_sign_keypair()
  const lookupSecret = sodium.randombytes_buf(LOOKUP_SECRET_BYTES)
  const lookupFor = (user: string): OwnLookup => ownLookupFor(lookupSecret, user)
  const capabilityOf = (user: string): LookupCapability => capabilityFor(sodium, lookupSecret, user)
  const snLogs: LogEntry[] = []
  const listeners: Listener[] = []
  const hosts: LegitHost[] = []
  const peers: WirePeer[] = []
  let serial = 0
  let names = 0

  const run = async (ms: number, stepMs = 5): Promise<void> => { await clock.advanceAsync(ms, stepMs) }

  const device = (user: string, deviceOptions: DeviceOptions = {}): Device => {
    const keys = sodium.crypto_sign_keypair()
    const issued = deviceOptions.issued ?? Math.floor(clock.now() / 1000)
    const deviceKey = toBase64url(keys.publicKey)
    const certificate = signCertificate(sodium, {
      v: CERTIFICATE_VERSION, user, deviceKey, issued, expires: issued + (deviceOptions.lifetimeSeconds ?? 86_400), serial: ++serial
    }, deviceOptions.issuerSecretKey ?? issuer.privateKey)
    return { user, deviceKey, identity: { certificate, secretKey: keys.privateKey } }
  }

  const dhtIdSecret = dhtIdSecretOf(issuer.privateKey)
  /** What the login server signs for an admitted supernode at `address`. */
  const credentialFor = (dev: Device, address: string): SupernodeCredential => {
    const issued = Math.floor(clock.now() / 1000)
    return signSupernodeCredential(sodium, {
      user: dev.user, deviceKey: dev.deviceKey, address, dhtId: assignDhtId(dhtIdSecret, dev.deviceKey, issued), issued, expires: issued + 86_400
    }, issuer.privateKey)
  }

  const supernodes: Supernode[] = []
  const startSupernode = async (i: number): Promise<Supernode> => {
    const ip = `198.18.0.${i + 1}`
    const transport = network.host(ip)
    const user = `supernode${i}`
    const dev = device(user)
    const address = `${ip}:${SN_PORT}`
    const log = i === 0 ? recordingLogger(snLogs, { sn: user }) : recordingLogger([], { sn: user })
    const supernode = createSupernode(
      { sodium, clock, transport, identity: dev.identity, issuerKey: issuer.publicKey, log, dialer: network.dialer() },
      { address, user, deviceKey: dev.deviceKey }
    )
    supernode.admit(credentialFor(dev, address))
    listeners.push(await transport.listen(address, connection => { supernode.acceptConnection(connection) }))
    if (supernodes.length > 0) {
      let settled = false
      const joined = supernode.bootstrap(supernodes.map(s => s.ref)).finally(() => { settled = true })
      while (!settled) await run(50)
      await joined
    }
    supernodes.push(supernode)
    return supernode
  }
  for (let i = 0; i < (options.supernodes ?? 1); i++) await startSupernode(i)
  const sn = supernodes[0] as Supernode
  const snIp = '198.18.0.1'

  const connect = async (): Promise<WirePeer> => {
    const dialing = network.transport('198.18.66.').dial(sn.ref.address)
    await run(10)
    const peer = new WirePeer(await dialing)
    peers.push(peer)
    return peer
  }

  const attacker = async (who: string | Device): Promise<WirePeer & { device: Device }> => {
    const dev = typeof who === 'string' ? device(who) : who
    const peer = await connect()
    peer.startHandshake(sodium, clock, dev, issuer.publicKey, sn.ref.deviceKey)
    // Long enough for the supernode to finish its side and install its handlers.
    await run(20)
    expect(peer.handshakeError).toBeUndefined()
    expect(peer.cipher, 'link handshake completed').toBeDefined()
    return Object.assign(peer, { device: dev })
  }

  const registerFor = (dev: Device, overrides: Partial<MessageOf<'register'>> = {}): MessageOf<'register'> => {
    const now = clock.now()
    const expires = now + RECORD_LIFETIME_MS
    const content = { seq: now, expires: Math.floor(expires / 1000) }
    const locator = signLocator(sodium, dev.identity, { supernode: { address: sn.ref.address, deviceKey: sn.ref.deviceKey }, ...content })
    const own = lookupFor(dev.user)
    return {
      t: 'register',
      locator,
      lookupRecord: sealLocatorRecord(sodium, openOwnLookup(sodium, own), locator, { deviceKey: dev.deviceKey, ...content }),
      reachToken: reachTokenOf(own.sealKey),
      audience: [],
      presence: sealEnvelope(sodium, dev.identity, { type: 'presence', from: dev.user, status: 'online', seq: now, expires }),
      offline: sealEnvelope(sodium, dev.identity, { type: 'presence', from: dev.user, status: 'offline', seq: now + 1, expires }),
      ...overrides
    }
  }

  const registeredAttacker = async (who: string | Device, capabilitiesFor: string[] = []): Promise<WirePeer & { device: Device }> => {
    const peer = await attacker(who)
    peer.sendJson(registerFor(peer.device))
    peer.sendJson({ t: 'contact-capabilities', capabilities: capabilitiesFor.map(capabilityOf), last: true })
    await run(20)
    expect(peer.received('registered')).toHaveLength(1)
    return peer
  }

  const addHost = async (user: string, contacts: string[] = []): Promise<LegitHost> => {
    const dev = device(user)
    const logs: LogEntry[] = []
    const events: HostEvent[] = []
    const cache = createHostCache()
    cache.add([sn.ref as SupernodeRef], clock.now())
    const host = createHost(
      { sodium, clock, transport: network.transport('198.18.1.'), identity: dev.identity, issuerKey: issuer.publicKey, log: recordingLogger(logs, { host: user }), cache },
      { user, deviceKey: dev.deviceKey, audience: contacts, lookup: lookupFor(user), capabilities: contacts.map(capabilityOf), onEvent: event => { events.push(event) } }
    )
    host.start()
    const entry: LegitHost = { user, device: dev, host, events, logs }
    hosts.push(entry)
    await run(100)
    expect(host.supernode?.deviceKey, `${user} attached`).toBe(sn.ref.deviceKey)
    return entry
  }

  /** Sealed to the legit hosts of `to` (or to a stranger's device when `to` has none). */
  const text = (dev: Device, to: string, body = 'hello'): Envelope => {
    const recipients = hosts.filter(h => h.user === to).map(h => h.device.deviceKey)
    const sealed = sealText(sodium, body, dev.identity, recipients.length > 0 ? recipients : [device(to).deviceKey])
    return sealEnvelope(sodium, dev.identity, { type: 'text', from: dev.user, to, id: `msg${clock.now()}xyz`, sentAt: clock.now(), ...sealed })
  }

  const dhtRecords = async (user: string): Promise<DhtRecord[]> => {
    const probe = await attacker(`probe${++names}`)
    const address = `198.18.77.${names % 250 + 1}:${SN_PORT}`
    probe.sendJson({ t: 'peer-hello', address, credential: credentialFor(probe.device, address) })
    probe.sendJson({ t: 'dht', id: 1, request: { t: 'find_value', key: capabilityOf(user).lookupKey } })
    await run(20)
    const reply = probe.received('dht-reply').find(r => r.id === 1)
    probe.close()
    await run(10)
    expect(reply?.error).toBeUndefined()
    const response = reply?.response as { t: string, records: DhtRecord[] } | undefined
    expect(response?.t).toBe('value')
    return response?.records ?? []
  }

  const disconnects = (): LogEntry[] => snLogs.filter(l => l.level === 'warn' && l.msg.startsWith('disconnecting peer: '))

  const expectStillServing = async (): Promise<void> => {
    const [userA, userB] = [`served${++names}`, `served${++names}`]
    const a = await addHost(userA, [userB])
    const b = await addHost(userB, [userA])
    const sending = a.host.sendText(b.user, 'still serving?')
    await run(100)
    const sent = await sending
    expect(sent.delivered).toBe(1)
    expect(b.events).toContainEqual(expect.objectContaining({ event: 'message', from: a.user, text: 'still serving?' }))
    expect(a.events).toContainEqual({ event: 'receipt', from: b.user, ref: sent.id })
  }

  return {
    sodium,
    clock,
    network,
    issuer,
    credentialFor,
    peerHello: (dev, address) => ({ t: 'peer-hello', address, credential: credentialFor(dev, address) }),
    sn,
    snIp,
    snLogs,
    supernodes,
    device,
    run,
    addHost,
    connect,
    attacker,
    registerFor,
    registeredAttacker,
    lookupFor,
    capabilityFor: capabilityOf,
    text,
    dhtRecords,
    disconnects,
    expectStillServing,
    close () {
      for (const h of hosts) h.host.close()
      for (const p of peers) p.close()
      for (const s of supernodes) s.close()
      for (const l of listeners) void l.close()
    }
  }
}

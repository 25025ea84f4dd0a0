// An in-process voxmesh network for tests and experiments (like hyperdht's
// testnet): supernodes and hosts running the real protocol code over the
// in-memory network, with a fake clock, an in-memory certificate issuer and
// the login server's lookup key derivation (common/lookup-keys.ts) standing in
// for the login server.
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { signCertificate, CERTIFICATE_VERSION, type Certificate } from '../../common/certificate.js'
import { ownCertificateFacts } from '../../common/wire/device-identity.js'
import { toBase64url } from '../../common/base64url.js'
import { capabilityFor, LOOKUP_SECRET_BYTES, ownLookupFor, type LookupCapability, type OwnLookup } from '../../common/lookup-keys.js'
import { assignDhtId, dhtIdSecretOf, signSupernodeCredential, type SupernodeCredential } from '../../common/supernode-credential.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { FakeClock } from '../net/fake-clock.js'
import { createMemoryNetwork, type MemoryNetwork } from '../net/memory-network.js'
import type { Listener } from '../net/transport.js'
import { createSupernode, type Supernode } from '../overlay/supernode/supernode.js'
import { createHost, type Host, type HostEvent, type UserStatus } from '../overlay/host.js'
import { createSupernodeCache } from '../overlay/supernode-cache.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { seededRandom, seededRandomBytes, type RandomSource } from '../../common/random.js'
import type { SupernodeRef } from '../overlay/messages.js'

export const TESTNET_PORT = 7701

export interface TestnetSupernode { user: string, ip: string, address: string, supernode: Supernode, listener: Listener, alive: boolean }

export interface TestnetHost {
  user: string
  ip: string
  host: Host
  events: HostEvent[]
  /** Called with every event too (after it is recorded), e.g. to feed a call manager. */
  onEvent?: (event: HostEvent) => void
  identity: LinkIdentity & { deviceKey: string }
  /** Users whose deliveries this host acts on (its contacts); everyone when undefined. */
  contacts: Set<string> | undefined
  blocked: Set<string>
  /** Every delivery the host got, before it decided whether to act on it. */
  deliveries: Array<{ from: string, type: string }>
}

export interface Testnet {
  sodium: Sodium
  clock: FakeClock
  network: MemoryNetwork
  supernodes: TestnetSupernode[]
  hosts: TestnetHost[]
  /** What the login server would give a contact of `user`. */
  capabilityFor: (user: string) => LookupCapability
  /** A new certificate for an existing device (a renewal), valid from now for `lifetimeSeconds`. */
  certify: (identity: LinkIdentity & { deviceKey: string }, lifetimeSeconds: number) => Certificate
  addSupernode: (user: string, options?: { maxHosts?: number, minSupernodes?: number }) => Promise<TestnetSupernode>
  /**
   * `contacts` get each other's lookup capabilities (as from the login server); `capabilitiesFor` names
   * users whose capability the host holds besides (e.g. a removed contact's, kept until the lookup secret changes).
   */
  addHost: (user: string, options?: { contacts?: string[], blocked?: string[], status?: UserStatus, supernodes?: SupernodeRef[], capabilitiesFor?: string[] }) => TestnetHost
  /** Crashes a supernode's machine: its connections reset, it never answers again. */
  killSupernode: (sn: TestnetSupernode) => void
  /** What the login server signs for an admitted supernode (the DHT id is its choice, not the supernode's). */
  credentialFor: (user: string, deviceKey: string, address: string, options?: { dhtId?: string, ttlSeconds?: number }) => SupernodeCredential
  /** A new device of `user` with a certificate from the stand-in login server. */
  identityFor: (user: string) => LinkIdentity & { deviceKey: string }
  /** The stand-in login server's signing key pair. */
  issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
  /** Lets simulated time pass, with promise turns in between. */
  run: (ms: number, stepMs?: number) => Promise<void>
  close: () => void
}

/** The seed when none is given: runs repeat exactly unless a test asks for another. */
export const DEFAULT_TESTNET_SEED = 0x7e57

/** `seed` drives the keys and every host's chance (republish jitter, reconnect backoff): the same seed, the same run. */
export async function createTestnet (options: { latencyMs?: number, log?: Logger, seed?: number } = {}): Promise<Testnet> {
  const sodium = await loadSodium()
  // Each host gets its own generator, seeded from this one: a host added later does not shift the others' draws.
  const seed = options.seed ?? DEFAULT_TESTNET_SEED
  const hostSeeds = seededRandom(seed)
  // Keys and secrets too: the same seed gives the same device keys, hence the same DHT ids and routes.
  const keyBytes = seededRandomBytes(`testnet:${seed}`)
  const newKeyPair = (): { publicKey: Uint8Array, privateKey: Uint8Array } => sodium.crypto_sign_seed_keypair(keyBytes(sodium.crypto_sign_SEEDBYTES))
  const clock = new FakeClock()
  const network = createMemoryNetwork({ clock, latencyMs: options.latencyMs ?? 2 })
  const issuer = newKeyPair()
  const dhtIdSecret = dhtIdSecretOf(issuer.privateKey)
  const lookupSecret = keyBytes(LOOKUP_SECRET_BYTES)
  const log = options.log ?? silentLogger
  let serial = 0
  let nextIp = 1

  const certify = (user: string, deviceKey: string, lifetimeSeconds: number): Certificate => {
    const issued = Math.floor(clock.now() / 1000)
    return signCertificate(sodium, { v: CERTIFICATE_VERSION, user, deviceKey, issued, expires: issued + lifetimeSeconds, serial: ++serial }, issuer.privateKey)
  }
  const identityFor = (user: string): LinkIdentity & { deviceKey: string } => {
    const device = newKeyPair()
    const issued = Math.floor(clock.now() / 1000)
    const deviceKey = toBase64url(device.publicKey)
    const certificate = signCertificate(sodium, { v: CERTIFICATE_VERSION, user, deviceKey, issued, expires: issued + 86_400, serial: ++serial }, issuer.privateKey)
    return { certificate, secretKey: device.privateKey, deviceKey }
  }
  const newIp = (): string => {
    const n = nextIp++
    return `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`
  }

  const net: Testnet = {
    sodium,
    clock,
    network,
    supernodes: [],
    hosts: [],
    capabilityFor: user => capabilityFor(sodium, lookupSecret, user),
    certify: (identity, lifetimeSeconds) => {
      const { user } = ownCertificateFacts(sodium, identity)
      return certify(user, identity.deviceKey, lifetimeSeconds)
    },
    async addSupernode (user, snOptions = {}) {
      const ip = newIp()
      const transport = network.machine(ip)
      const identity = identityFor(user)
      const address = `${ip}:${TESTNET_PORT}`
      const supernode = createSupernode(
        { sodium, clock, transport, identity, issuerKey: issuer.publicKey, log: log.child({ sn: user }), dialer: network.dialer() },
        { address, user, deviceKey: identity.deviceKey, ...snOptions }
      )
      supernode.admit(net.credentialFor(user, identity.deviceKey, address))
      const listener = await transport.listen(address, connection => { supernode.acceptConnection(connection) })
      const entry: TestnetSupernode = { user, ip, address, supernode, listener, alive: true }
      const others = net.supernodes.filter(s => s.alive).map(s => s.supernode.ref)
      net.supernodes.push(entry)
      if (others.length > 0) {
        let settled = false
        const joined = supernode.bootstrap(others).finally(() => { settled = true })
        // Joining (bucket refreshes included) can take a few hundred ms of
        // simulated time: keep the clock moving until it is done, or await hangs.
        await net.run(200)
        while (!settled) await net.run(50)
        await joined
      }
      return entry
    },
    addHost (user, hostOptions = {}) {
      const entry = startHost(net, { ip: newIp(), lookup: ownLookupFor(lookupSecret, user), random: seededRandom(Math.floor(hostSeeds() * 2 ** 32)), log }, user, hostOptions)
      net.hosts.push(entry)
      return entry
    },
    issuer,
    identityFor,
    credentialFor (user, deviceKey, address, credentialOptions = {}) {
      const issued = Math.floor(clock.now() / 1000)
      return signSupernodeCredential(sodium, {
        user,
        deviceKey,
        address,
        dhtId: credentialOptions.dhtId ?? assignDhtId(dhtIdSecret, deviceKey, issued),
        issued,
        expires: issued + (credentialOptions.ttlSeconds ?? 3600)
      }, issuer.privateKey)
    },
    killSupernode (sn) {
      sn.alive = false
      network.kill(sn.ip)
      sn.supernode.close()
    },
    run: async (ms, stepMs = 10) => { await clock.advanceAsync(ms, stepMs) },
    close () {
      for (const h of net.hosts) h.host.close()
      for (const s of net.supernodes) {
        s.supernode.close()
        void s.listener.close()
      }
    }
  }
  return net
}

type HostOptions = NonNullable<Parameters<Testnet['addHost']>[1]>

/** A started host of `user` at `machine.ip`, knowing the live supernodes (or the given ones), acting only on its contacts' deliveries. */
function startHost (
  net: Testnet, machine: { ip: string, lookup: OwnLookup, random: RandomSource, log: Logger }, user: string, hostOptions: HostOptions
): TestnetHost {
  const { sodium, clock, network, issuer } = net
  const { ip } = machine
  const identity = net.identityFor(user)
  const cache = createSupernodeCache()
  cache.add(hostOptions.supernodes ?? net.supernodes.filter(s => s.alive).map(s => s.supernode.ref), clock.now())
  const entry: TestnetHost = {
    user,
    ip,
    events: [],
    contacts: hostOptions.contacts === undefined ? undefined : new Set(hostOptions.contacts),
    blocked: new Set(hostOptions.blocked ?? []),
    deliveries: [],
    identity,
    host: undefined as unknown as Host
  }
  entry.host = createHost(
    { sodium, clock, transport: network.machine(ip), identity, issuerKey: issuer.publicKey, log: machine.log.child({ host: user }), cache, random: machine.random },
    {
      user,
      deviceKey: identity.deviceKey,
      status: hostOptions.status,
      audience: (hostOptions.contacts ?? []).filter(c => !entry.blocked.has(c)),
      lookup: machine.lookup,
      capabilities: [...new Set([...(hostOptions.contacts ?? []), ...(hostOptions.capabilitiesFor ?? [])])]
        .filter(c => !entry.blocked.has(c)).map(c => net.capabilityFor(c)),
      onEvent: event => {
        entry.events.push(event)
        entry.onEvent?.(event)
      },
      accepts: (from, type) => {
        entry.deliveries.push({ from, type })
        return !entry.blocked.has(from) && (type !== 'presence' || entry.contacts === undefined || entry.contacts.has(from))
      }
    }
  )
  entry.host.start()
  return entry
}

// A supernode: serves hosts (bounded), joins the supernode DHT, stores and
// serves signed locators, routes messages to any online user and pushes
// presence to the audience each user chose. It serves and joins only once the
// login server admitted it (admit()). Sans-IO: connections come in through
// acceptConnection(), time through the Clock.
import type { Dht, DhtPeer, DhtRecord } from '../dht/dht.js'
import { CAPACITY_NEEDED_LOAD, DEFAULT_MAX_HOSTS, FANOUT_CONCURRENCY, MIN_SUPERNODES } from '../constants.js'
import type { Connection } from '../../net/transport.js'
import type { SupernodeRef } from '../messages.js'
import { createHostRegistry } from './host-registry.js'
import { createPeerLinks } from './peer-links.js'
import { verifySupernodeCredential, type SupernodeCredential } from '../../../common/supernode-credential.js'
import { createRouter } from './router.js'
import { acceptConnection } from './accept-connection.js'
import { createSupernodeDht, joinMesh } from './mesh.js'
import { handlePeerLink } from './peer-handlers.js'
import { createInboundLinks, DEFAULT_LINK_CAPS } from './inbound-links.js'
import { createDialbackLimiter, type DialbackLimiter } from './dialback-requests.js'
import type { SupernodeComponents, SupernodeInit } from './context.js'
import { createRevocationList } from './revocation-list.js'
import type { Revocation } from '../../../common/revocation.js'
import type { Link } from '../link.js'

export interface SupernodeStats { hosts: number, capacity: number, peerLinks: number, dhtPeers: number }

export interface Supernode {
  readonly ref: SupernodeRef
  /** A connection accepted by the listener: a host or another supernode. */
  acceptConnection: (connection: Connection) => void
  /**
   * Takes the login server's credential (first admission, or a renewal). Until the first
   * one the supernode serves nobody and cannot join the mesh; a renewal that moves us to
   * another DHT id (a new epoch) rebuilds our DHT membership under the new id.
   */
  admit: (credential: SupernodeCredential) => void
  readonly admitted: boolean
  /** Joins the mesh through these supernodes (any that answer). */
  bootstrap: (peers: SupernodeRef[]) => Promise<number>
  knownSupernodes: (n: number) => SupernodeRef[]
  capacityNeeded: () => boolean
  stats: () => SupernodeStats
  /** The DHT records this supernode holds for the mesh (what its operator can read). */
  heldRecords: () => DhtRecord[]
  /** Revocations from the login server: their certificates are refused from now on, and their open links closed. */
  revoke: (revocations: Revocation[]) => void
  /** Tells every host to move to another supernode (demotion, shutdown). */
  handOff: (reason: string) => void
  close: () => void
}

export function createSupernode (given: SupernodeComponents, init: SupernodeInit): Supernode {
  const revocations = createRevocationList(given.sodium)
  // Every part (handshakes, envelope checks, peer dials) refuses revoked certificates.
  const components: SupernodeComponents = { ...given, refusePeer: revocations.refusal }
  const { log, clock } = components
  const maxHosts = init.maxHosts ?? DEFAULT_MAX_HOSTS
  const minSupernodes = init.minSupernodes ?? MIN_SUPERNODES
  const ref: SupernodeRef = { user: init.user, deviceKey: init.deviceKey, address: init.address }
  const hosts = createHostRegistry()
  const inbound = createInboundLinks(components, { ...DEFAULT_LINK_CAPS, ...init.linkCaps })
  let closed = false
  let credential: SupernodeCredential | undefined
  let dht: Dht | undefined

  const peers = createPeerLinks(components, { address: init.address, credential: () => credential }, {
    opened: (peer, link) => {
      const from: DhtPeer = { id: peer.dhtId, address: peer.address, key: peer.deviceKey }
      dht?.addPeer(from)
      handlePeerLink(sn, link, from)
    },
    // A link we closed to make room says nothing about the peer; any other close may mean it died.
    lost: (peer, evicted) => { if (!evicted && !closed) dht?.removePeer(peer.dhtId) }
  })

  const createOurDht = (id: string): Dht => createSupernodeDht(components, peers, { id, address: init.address, key: init.deviceKey })

  const currentDht = (): Dht => {
    if (dht === undefined) throw new Error('this supernode is not admitted yet')
    return dht
  }
  const router = createRouter(components, { deviceKey: init.deviceKey }, hosts, peers, currentDht)

  const knownSupernodes = (n: number): SupernodeRef[] => {
    const list: SupernodeRef[] = [ref]
    for (const peer of dht?.peers() ?? []) {
      if (list.length >= n) break
      if (peer.key === undefined) continue
      const user = peers.credentialOf(peer.key)?.user
      list.push(user === undefined ? { deviceKey: peer.key, address: peer.address } : { user, deviceKey: peer.key, address: peer.address })
    }
    return list
  }


  const bootstrap = async (list: SupernodeRef[]): Promise<number> => await joinMesh(log, peers, init.deviceKey, () => dht, list)

  const sn: SupernodeInternals = {
    components,
    init,
    ref,
    hosts,
    peers,
    dht: currentDht,
    credential: () => credential,
    router,
    maxHosts,
    fanOut,
    knownSupernodes,
    dialbacks: createDialbackLimiter(clock),
    capacityNeeded: () => hosts.size() >= maxHosts * CAPACITY_NEEDED_LOAD || (dht?.peerCount() ?? 0) + 1 < minSupernodes,
    isClosed: () => closed
  }
  return {
    ref,
    knownSupernodes,
    capacityNeeded: sn.capacityNeeded,
    get admitted () { return credential !== undefined },
    admit (next) {
      if (closed) return
      const check = verifySupernodeCredential(components.sodium, next, {
        issuerKey: components.issuerKey, nowSeconds: Math.floor(clock.now() / 1000), expect: { deviceKey: init.deviceKey, address: init.address }
      })
      if (!check.ok) throw new Error(`refusing our own credential: ${check.message}`)
      credential = next
      if (dht !== undefined && dht.self.id === check.body.dhtId) {
        peers.announce()
        return
      }
      // First admission, or a new epoch: (re)join the DHT under the id the login server gave us.
      const neighbours = knownSupernodes(64).filter(s => s.deviceKey !== init.deviceKey)
      const previous = dht
      dht = createOurDht(check.body.dhtId)
      if (previous === undefined) return
      previous.close()
      // Peers we are linked to seed the new table (bootstrap reuses their links without reopening them).
      for (const { credential: peer } of peers.entries()) dht.addPeer({ id: peer.dhtId, address: peer.address, key: peer.deviceKey })
      peers.announce()
      // Our hosts' locators reach the new id's neighbourhood with their next republish (REPUBLISH_INTERVAL_MS).
      log.info({ dhtId: check.body.dhtId.slice(0, 16) }, 'new DHT epoch: rejoining the mesh under our new id')
      void bootstrap(neighbours)
    },
    acceptConnection: connection => { acceptConnection(sn, inbound, connection) },
    bootstrap,
    heldRecords: () => dht?.heldRecords() ?? [],
    stats: () => ({ hosts: hosts.size(), capacity: maxHosts, peerLinks: peers.count(), dhtPeers: dht?.peerCount() ?? 0 }),
    revoke (list) {
      if (revocations.add(list, Math.floor(clock.now() / 1000)) === 0) return
      const open: Link[] = [...[...hosts.all()].map(h => h.link), ...peers.links()]
      for (const link of open) {
        const refused = revocations.refusal(link.peer.certificateBody)
        if (refused === undefined) continue
        log.info({ peer: link.peer.user }, `closing link: ${refused}`)
        link.close(`peer certificate refused: ${refused}`)
      }
    },
    handOff (reason) {
      const others = knownSupernodes(16).filter(s => s.deviceKey !== init.deviceKey)
      for (const host of hosts.all()) host.link.send({ t: 'redirect', reason, supernodes: others })
    },
    close () {
      if (closed) return
      closed = true
      inbound.close()
      for (const host of [...hosts.all()]) host.link.close('supernode shutting down')
      peers.close()
      dht?.close()
    }
  }
}

/** Runs `task` for each item, at most FANOUT_CONCURRENCY at once. */
async function fanOut <T> (items: T[], task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T).catch(() => {})
  }
  await Promise.all(Array.from({ length: Math.min(FANOUT_CONCURRENCY, items.length) }, worker))
}

export type SupernodeInternals = {
  components: SupernodeComponents
  init: SupernodeInit
  ref: SupernodeRef
  hosts: ReturnType<typeof createHostRegistry>
  peers: ReturnType<typeof createPeerLinks>
  /** The DHT we are a member of; throws before our first admission. */
  dht: () => Dht
  credential: () => SupernodeCredential | undefined
  router: ReturnType<typeof createRouter>
  maxHosts: number
  fanOut: <T>(items: T[], task: (item: T) => Promise<unknown>) => Promise<void>
  knownSupernodes: (n: number) => SupernodeRef[]
  dialbacks: DialbackLimiter
  capacityNeeded: () => boolean
  isClosed: () => boolean
}

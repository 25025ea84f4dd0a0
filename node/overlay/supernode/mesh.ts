// This supernode's membership of the supernode mesh: its DHT (whose RPCs run
// over credential-checked peer links) and joining through known supernodes.
import { checkSealedRecord } from '../../../common/wire/sealed-locator.js'
import type { Logger } from '../../../common/logger.js'
import { createDht, type Dht, type DhtPeer } from '../dht/dht.js'
import type { SupernodeRef } from '../messages.js'
import type { SupernodeComponents } from './context.js'
import type { PeerLinks } from './peer-links.js'

/** Our DHT node at `self` (the id the login server gave us); its RPCs go over peer links, its records are sealed locators. */
export function createSupernodeDht (components: SupernodeComponents, peers: PeerLinks, self: DhtPeer): Dht {
  const { clock, log } = components
  return createDht({
    clock,
    log: (msg, fields) => { log.debug(fields ?? {}, msg) },
    rpc: async (peer: DhtPeer, request) => {
      if (peer.key === undefined) throw new Error('peer without a key: cannot authenticate it')
      // The link checks that this key holds a credential for exactly this id.
      const link = await peers.get({ deviceKey: peer.key, address: peer.address, dhtId: peer.id })
      const reply = await link.request({ t: 'dht', id: link.nextId(), request }, 'dht-reply')
      if (reply.error !== undefined) throw new Error(reply.error)
      return reply.response as never
    },
    validateRecord: record => {
      const check = checkSealedRecord(components.sodium, record, components.clock.now())
      return check.ok ? undefined : check.reason
    }
  }, { self })
}

/**
 * Joins the mesh through these supernodes (any that answer): links to them, then a DHT
 * bootstrap. `dht` is read again after the links are up: a new epoch may have replaced it.
 */
export async function joinMesh (
  log: Logger, peers: PeerLinks, ownDeviceKey: string, dht: () => Dht | undefined, list: SupernodeRef[]
): Promise<number> {
  if (dht() === undefined) return 0
  let joined = 0
  await Promise.all(list.filter(peer => peer.deviceKey !== ownDeviceKey).map(async peer => {
    try {
      await peers.get(peer)
      joined++
    } catch (err) {
      log.info({ supernode: peer.address }, `could not join the mesh through this supernode: ${(err as Error).message}`)
    }
  }))
  const current = dht() as Dht
  if (joined > 0) await current.bootstrap([]).catch(() => 0)
  log.info({ joined, dhtPeers: current.peers().length }, 'joined the supernode mesh')
  return joined
}

// A member's modified supernode on the testnet: it speaks the link and DHT
// protocols well enough to be taken for a peer, then swallows every store
// (answering "stored"), answers every lookup with no records, and points
// every lookup at its fellow rogues. It uses whatever credential it is given:
// the one the login server would sign for it, or one it forged.
import { openLink, type Link } from '../../node/overlay/link.js'
import { TESTNET_PORT, type Testnet } from '../../node/testing/testnet.js'
import type { DhtPeer } from '../../node/overlay/dht/dht.js'
import type { LinkMessage, MessageOf } from '../../node/overlay/messages.js'
import type { SupernodeCredential } from '../../common/supernode-credential.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { silentLogger } from '../../common/logger.js'

export interface Rogue {
  address: string
  deviceKey: string
  /** The id the rogue claims in DHT answers about itself and its friends. */
  dhtId: string
  /** Stores it swallowed. */
  swallowed: number
  /** Dials every honest supernode and makes itself known to their DHTs; resolves with how many took it. */
  introduce: () => Promise<number>
}

export async function addRogueDhtPeer (
  net: Testnet,
  options: { identity: LinkIdentity & { deviceKey: string }, ip: string, dhtId: string, credential: (address: string) => SupernodeCredential | undefined, friends: () => Rogue[] }
): Promise<Rogue> {
  const address = `${options.ip}:${TESTNET_PORT}`
  const transport = net.network.machine(options.ip)
  const components = { sodium: net.sodium, clock: net.clock, identity: options.identity, issuerKey: net.issuer.publicKey, log: silentLogger }
  const hello = (): LinkMessage => ({ t: 'peer-hello', address, credential: options.credential(address) } as MessageOf<'peer-hello'>)
  const friends = (): DhtPeer[] => options.friends().map(r => ({ id: r.dhtId, address: r.address, key: r.deviceKey }))

  const serve = (link: Link, answerHello: boolean): void => {
    link.onMessage = message => {
      if (message.t === 'peer-hello') { if (answerHello) link.send(hello()); return }
      if (message.t !== 'dht') return
      const request = message.request as { t: string }
      if (request.t === 'store') rogue.swallowed++
      const response = request.t === 'store'
        ? { t: 'stored', ok: true }
        : request.t === 'find_value'
          ? { t: 'value', records: [], peers: friends() }
          : request.t === 'find_node' ? { t: 'nodes', peers: friends() } : { t: 'pong' }
      link.send({ t: 'dht-reply', id: message.id, response })
    }
  }

  await transport.listen(address, connection => {
    void openLink(components, connection, 'responder').then(link => { serve(link, true) }, () => {})
  })

  const rogue: Rogue = {
    address,
    deviceKey: options.identity.deviceKey,
    dhtId: options.dhtId,
    swallowed: 0,
    async introduce () {
      let taken = 0
      for (const honest of net.supernodes.filter(s => s.alive)) {
        try {
          const dialing = transport.dial(honest.address, 1500)
          await net.run(20)
          const opening = openLink(components, await dialing, 'initiator', honest.supernode.ref.deviceKey)
          await net.run(20)
          const link = await opening
          serve(link, false)
          link.send(hello())
          // A DHT request makes the honest node add us to its routing table.
          link.send({ t: 'dht', id: 1, request: { t: 'find_node', target: options.dhtId } })
          await net.run(50)
          if (!link.closed) taken++
        } catch {}
      }
      return taken
    }
  }
  return rogue
}

// A supernode running modified code, for attacks on the in-process testnet: it
// speaks the real link protocol (so hosts attach to it like to any supernode),
// keeps a copy of everything hosts send it, and delivers each routed envelope
// `copies` times. It was admitted like any supernode, and serves only the hosts
// attached to it (no DHT).
import { fromBase64url } from '../../common/base64url.js'
import { canonicalDecode } from '../../common/canonical.js'
import type { Testnet } from '../../node/testing/testnet.js'
import { openLink, type Link } from '../../node/overlay/link.js'
import { silentLogger } from '../../common/logger.js'
import type { Envelope, LinkMessage, SupernodeRef } from '../../node/overlay/messages.js'

export interface RogueSupernode {
  ref: SupernodeRef
  /** Every message the attached hosts sent, as the rogue read it after link decryption. */
  received: LinkMessage[]
  /** The bodies of every envelope the hosts asked it to route, decoded. */
  routedBodies: () => Array<Record<string, unknown>>
  /** Delivers a routed envelope again, `copies` times, to the hosts of `to` (a replay, at any later time). */
  replay: (to: string, envelope: Envelope) => number
}

export interface RogueOptions {
  /** How many times each routed envelope is delivered. */
  copies: number
  /** Adds the rogue's own certificate to every 'located' answer (to get texts sealed to itself). */
  claimDevices?: boolean
  ip?: string
}

export async function startRogueSupernode (net: Testnet, options: RogueOptions): Promise<RogueSupernode & { identity: ReturnType<Testnet['identityFor']> }> {
  const ip = options.ip ?? '198.18.200.1'
  const address = `${ip}:7701`
  const identity = net.identityFor('rogue-sn')
  const components = { sodium: net.sodium, clock: net.clock, identity, issuerKey: net.issuer.publicKey, log: silentLogger }
  const ref: SupernodeRef = { user: 'rogue-sn', deviceKey: identity.deviceKey, address }
  // A member's supernode the login server admitted: it then runs whatever code it likes.
  const credential = net.credentialFor('rogue-sn', identity.deviceKey, address)
  const hosts = new Map<string, Link[]>()
  const received: LinkMessage[] = []

  const deliver = (to: string, envelope: Envelope): number => {
    const links = (hosts.get(to) ?? []).filter(l => !l.closed)
    for (let i = 0; i < options.copies; i++) for (const link of links) link.send({ t: 'deliver', envelope })
    return links.length
  }

  const serve = (link: Link): void => {
    link.onMessage = message => {
      received.push(message)
      switch (message.t) {
        case 'register':
          hosts.set(link.peer.user, [...(hosts.get(link.peer.user) ?? []), link])
          link.send({ t: 'registered', credential, hostCache: [ref], capacityNeeded: false })
          return
        case 'ping':
          link.send({ t: 'pong', id: message.id, hosts: hosts.size, capacity: 100, capacityNeeded: false })
          return
        case 'locate': {
          const devices = (hosts.get(message.to) ?? []).filter(l => !l.closed).map(l => l.peer.certificate)
          if (options.claimDevices === true) devices.push(identity.certificate)
          link.send({ t: 'located', id: message.id, devices })
          return
        }
        case 'route':
          link.send({ t: 'route-result', id: message.id, delivered: deliver(message.to, message.envelope) })
      }
    }
  }

  await net.network.machine(ip).listen(address, connection => {
    openLink(components, connection, 'responder').then(serve, () => {})
  })
  return {
    ref,
    identity,
    received,
    replay: deliver,
    routedBodies: () => received.flatMap(m => m.t === 'route'
      ? [canonicalDecode(fromBase64url(m.envelope.body) as Uint8Array) as Record<string, unknown>]
      : [])
  }
}

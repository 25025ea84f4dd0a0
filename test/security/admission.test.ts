// Supernode admission (issue: "An overlay that holds against its own members").
// Only supernodes the login server admitted — after dial-back, at most a few per
// address, with a DHT id the login server picked — get peer links and the DHT.
// Attacks, each with one ordinary account or a few: joining the mesh without an
// admission, with a forged, borrowed or expired one, grinding device keys to sit
// next to a victim's key, and running many supernodes from one address.
import { afterEach, describe, expect, it } from 'vitest'
import { flushAsync } from '../../node/net/fake-clock.js'
import { toBase64url } from '../../common/base64url.js'
import { canonicalEncode } from '../../common/canonical.js'
import { signSupernodeCredential, verifySupernodeCredential } from '../../common/supernode-credential.js'
import { supernodeHeartbeatBody } from '../../common/login-api.js'
import { listenForDialback } from '../../common/dialback.js'
import { commonPrefixLength, keyFor } from '../../node/overlay/dht/ids.js'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'
import { createHarness, type Harness } from '../overlay/bad-input-harness.js'
import { createTestLoginServer, signUp, type TestLoginServer } from '../helpers/login-server.js'
import { addRogueDhtPeer, type Rogue } from './rogue-dht-peer.js'
import { openLink } from '../../node/overlay/link.js'
import { silentLogger } from '../../common/logger.js'

describe('joining the supernode mesh takes an admission from the login server', () => {
  let h: Harness
  afterEach(async () => { h?.close(); await flushAsync() })

  /** An ordinary account's link that says peer-hello with `credential`: it must be dropped and learn nothing. */
  const expectRefusedPeer = async (credential: unknown, reason: RegExp): Promise<void> => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson({ t: 'peer-hello', address: '198.18.9.9:7701', ...(credential === undefined ? {} : { credential }) })
    mallory.sendJson({ t: 'dht', id: 1, request: { t: 'find_node', target: keyFor('alice') } })
    await h.run(50)
    expect(mallory.closedReason).toMatch(reason)
    expect(mallory.received('dht-reply')).toEqual([])
    expect(mallory.received('peer-hello')).toEqual([])
    expect(h.sn.stats()).toMatchObject({ peerLinks: 0, dhtPeers: 0 })
  }

  it('an ordinary account without a credential cannot open a peer link or ask the DHT', async () => {
    h = await createHarness()
    await expectRefusedPeer(undefined, /invalid "peer-hello" message: .*credential/)
  })

  it('a credential not signed by the login server is refused', async () => {
    h = await createHarness()
    const forger = h.sodium.crypto_sign_keypair()
    const dev = h.device('mallory')
    const forged = signSupernodeCredential(h.sodium, {
      user: 'mallory', deviceKey: dev.deviceKey, address: '198.18.9.9:7701', dhtId: keyFor('alice'), issued: 0, expires: 4_000_000_000
    }, forger.privateKey)
    await expectRefusedPeer(forged, /not an admitted supernode: supernode credential is not signed by the login server/)
  })

  it("another supernode's credential (copied off the wire) is refused", async () => {
    h = await createHarness()
    const honest = h.device('honest')
    await expectRefusedPeer(h.credentialFor(honest, '198.18.9.9:7701'), /not an admitted supernode: supernode credential is for another device/)
  })

  it('an expired credential is refused', async () => {
    h = await createHarness()
    const dev = h.device('mallory')
    const old = h.credentialFor(dev, '198.18.9.9:7701')
    await h.run(86_400_000 + 1000, 60_000)
    // A fresh device certificate, an expired admission.
    const mallory = await h.attacker(h.device('mallory'))
    mallory.sendJson({ t: 'peer-hello', address: '198.18.9.9:7701', credential: old })
    await h.run(50)
    expect(mallory.closedReason).toMatch(/not an admitted supernode/)
    expect(h.sn.stats()).toMatchObject({ peerLinks: 0, dhtPeers: 0 })
  })
})

describe('nobody chooses their own place in the DHT', () => {
  let net: Testnet | undefined
  afterEach(() => { net?.close(); net = undefined })

  it('8 supernodes with device keys ground next to a victim\'s key do not silence the victim', async () => {
    net = await createTestnet()
    const testnet = net
    for (let i = 0; i < 8; i++) await testnet.addSupernode(`honest${i}`)
    // The attack as it worked when DHT ids were device keys: grind keys whose
    // bytes share a prefix with the victim's DHT key, run modified supernodes
    // under them that swallow every store and answer every lookup empty.
    const target = keyFor('victim')
    const rogues: Rogue[] = []
    for (let i = 0; rogues.length < 8; i++) {
      const identity = testnet.identityFor(`mallory${rogues.length}`)
      const claimed = Buffer.from(identity.deviceKey, 'base64url').toString('hex')
      if (commonPrefixLength(claimed, target) < 6) continue
      const ip = `198.18.200.${rogues.length + 1}`
      const user = `mallory${rogues.length}`
      rogues.push(await addRogueDhtPeer(testnet, {
        identity,
        ip,
        dhtId: claimed,
        // What the login server signs: an id of its choosing, not the ground one.
        credential: address => testnet.credentialFor(user, identity.deviceKey, address),
        friends: () => rogues
      }))
    }
    for (const rogue of rogues) await rogue.introduce()

    // On different supernodes, so that finding each other takes the DHT.
    const victim = testnet.addHost('victim', { contacts: ['friend'], supernodes: [testnet.supernodes[0]!.supernode.ref] })
    const friend = testnet.addHost('friend', { contacts: ['victim'], supernodes: [testnet.supernodes[1]!.supernode.ref] })
    await testnet.run(3000)
    expect(victim.host.supernode).toBeDefined()
    expect(friend.host.presenceOf('victim')).toBe('online')
    const sending = friend.host.sendText('victim', 'are you there?')
    await testnet.run(500)
    expect((await sending).delivered).toBe(1)
    expect(victim.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'friend', text: 'are you there?' }))
  })

  it('lookups still find every user while a quarter of the supernodes swallow stores and answer empty', async () => {
    net = await createTestnet()
    const testnet = net
    for (let i = 0; i < 12; i++) await testnet.addSupernode(`honest${i}`)
    const rogues: Rogue[] = []
    for (let i = 0; i < 4; i++) {
      const identity = testnet.identityFor(`mallory${i}`)
      const credential = testnet.credentialFor(`mallory${i}`, identity.deviceKey, `198.18.200.${i + 1}:7701`)
      const check = verifySupernodeCredential(testnet.sodium, credential, { issuerKey: testnet.issuer.publicKey, nowSeconds: Math.floor(testnet.clock.now() / 1000) })
      rogues.push(await addRogueDhtPeer(testnet, {
        identity, ip: `198.18.200.${i + 1}`, dhtId: check.ok ? check.body.dhtId : '', credential: () => credential, friends: () => rogues
      }))
    }
    for (const rogue of rogues) expect(await rogue.introduce()).toBeGreaterThan(0)
    const users = Array.from({ length: 20 }, (_, i) => `user${String(i).padStart(2, '0')}`)
    const hosts = users.map((user, i) => testnet.addHost(user, { contacts: [users[(i + 1) % users.length] as string] }))
    await testnet.run(3000)
    let found = 0
    for (let i = 0; i < hosts.length; i++) {
      const to = users[(i + 1) % users.length] as string
      const sending = hosts[i]!.host.sendText(to, `hello ${to}`)
      await testnet.run(300)
      if ((await sending).delivered === 1) found++
    }
    expect(rogues.reduce((n, r) => n + r.swallowed, 0), 'the rogues were asked to store records').toBeGreaterThan(0)
    expect(found).toBe(users.length)
  })
})

describe('the login server admits at most 2 supernodes per address', () => {
  let server: TestLoginServer
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
    await server?.close()
  })

  const heartbeatFrom = async (user: string) => {
    const session = await signUp(server, user)
    const responder = await listenForDialback(server.sodium, { host: '127.0.0.1', port: 0, secretKey: session.device.secretKey })
    closers.push(responder.close)
    const unsigned = { address: responder.address, load: { hosts: 0, capacity: 100 }, timestamp: Math.floor(server.now() / 1000) }
    const signature = server.sodium.crypto_sign_detached(canonicalEncode(supernodeHeartbeatBody(unsigned, session.device.deviceKey)), session.device.secretKey)
    const res = await server.app.inject({ method: 'POST', url: '/v1/supernodes', payload: { ...unsigned, certificate: session.certificate, signature: toBase64url(signature) } })
    return { res, deviceKey: session.device.deviceKey }
  }

  it('a third supernode on one IPv4 address is refused and not listed; the first two keep their admission', async () => {
    server = await createTestLoginServer()
    const first = await heartbeatFrom('sn1')
    const second = await heartbeatFrom('sn2')
    const third = await heartbeatFrom('sn3')
    expect([first.res.statusCode, second.res.statusCode]).toEqual([200, 200])
    expect(third.res.statusCode).toBe(409)
    expect(third.res.json().error).toEqual({ code: 'address_limit', message: '127.0.0.1 already runs 2 supernodes, the most one address may run' })
    const listed = (await server.store.listLiveSupernodes(Math.floor(server.now() / 1000))).map(s => s.deviceKey)
    expect(listed.sort()).toEqual([first.deviceKey, second.deviceKey].sort())
  })

  it('the DHT id in a credential is the login server\'s choice: not the device key, not the same from another login server', async () => {
    server = await createTestLoginServer()
    const { res, deviceKey } = await heartbeatFrom('sn1')
    const check = verifySupernodeCredential(server.sodium, res.json().credential, { issuerKey: server.signingKey.publicKey, nowSeconds: Math.floor(server.now() / 1000) })
    expect(check.ok).toBe(true)
    if (!check.ok) return
    expect(check.body.dhtId).toMatch(/^[0-9a-f]{64}$/)
    expect(check.body.dhtId).not.toBe(Buffer.from(deviceKey, 'base64url').toString('hex'))
    const other = await createTestLoginServer()
    try {
      const { assignDhtId, dhtIdSecretOf } = await import('../../common/supernode-credential.js')
      const nowSeconds = Math.floor(server.now() / 1000)
      expect(assignDhtId(dhtIdSecretOf(server.signingKey.secretKey), deviceKey, nowSeconds)).toBe(check.body.dhtId)
      expect(assignDhtId(dhtIdSecretOf(other.signingKey.secretKey), deviceKey, nowSeconds)).not.toBe(check.body.dhtId)
    } finally {
      await other.close()
    }
  })
})

describe('an admission is short-lived and checked on open links too', () => {
  let net: Testnet | undefined
  afterEach(() => { net?.close(); net = undefined })

  it('a supernode whose credential ran out without renewal loses its mesh links; a renewed one keeps them', async () => {
    net = await createTestnet()
    const a = await net.addSupernode('supera')
    const b = await net.addSupernode('superb')
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [a.supernode.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [b.supernode.ref] })
    await net.run(2000)
    const send = async (text: string): Promise<number> => {
      const sending = alice.host.sendText('bob', text)
      await net!.run(500)
      return (await sending).delivered
    }
    expect(await send('one')).toBe(1)

    // The login server stops renewing a's admission (a lost its reachability, or was struck off).
    a.supernode.admit(net.credentialFor('supera', a.supernode.ref.deviceKey, a.address, { ttlSeconds: 120 }))
    await net.run(60_000, 1000)
    expect(await send('two'), 'still admitted for another minute').toBe(1)
    await net.run(61_000, 1000)
    expect(await send('three'), 'expired: b no longer takes a\'s forwards').toBe(0)
    expect(bob.events.filter(e => e.event === 'message').map(e => (e as { text: string }).text)).toEqual(['one', 'two'])

    // Renewed (the next heartbeat went through): a is back in the mesh.
    a.supernode.admit(net.credentialFor('supera', a.supernode.ref.deviceKey, a.address))
    expect(await send('four')).toBe(1)
  })

  it('a host does not stay with a "supernode" that shows another supernode\'s credential', async () => {
    net = await createTestnet()
    const testnet = net
    const honest = await testnet.addSupernode('honest')
    // A member's modified node at 198.18.201.1 that answers registrations with the honest supernode's credential.
    const identity = testnet.identityFor('mallory')
    const address = '198.18.201.1:7701'
    const stolen = testnet.credentialFor('honest', honest.supernode.ref.deviceKey, honest.address)
    let registrations = 0
    await testnet.network.machine('198.18.201.1').listen(address, connection => {
      void openLink({ sodium: testnet.sodium, clock: testnet.clock, identity, issuerKey: testnet.issuer.publicKey, log: silentLogger }, connection, 'responder').then(link => {
        link.onMessage = message => {
          if (message.t !== 'register') return
          registrations++
          link.send({ t: 'registered', credential: stolen, hostCache: [], capacityNeeded: false })
        }
      }, () => {})
    })
    const victim = testnet.addHost('victim', { supernodes: [{ user: 'mallory', deviceKey: identity.deviceKey, address }, honest.supernode.ref] })
    await testnet.run(10_000)
    expect(registrations, 'the victim tried the rogue').toBeGreaterThan(0)
    expect(victim.events, JSON.stringify(victim.events)).toContainEqual(expect.objectContaining({ event: 'attached' }))
    expect(victim.host.supernode?.deviceKey).toBe(honest.supernode.ref.deviceKey)
  })
})

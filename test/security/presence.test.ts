// Presence is for contacts (issue 8, item 2): a non-contact, and a supernode
// that does not serve a user, cannot tell whether the user is online; an
// invisible user shows online to nobody but the supernode serving them, and
// stays reachable by contacts. Protocol-level: the in-process testnet (real
// protocol code, in-memory network, fake clock) and a hand-driven supernode peer.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import type { DhtRecord } from '../../node/overlay/dht/dht.js'
import { keyFor } from '../../node/overlay/dht/ids.js'
import { flushAsync } from '../../node/net/fake-clock.js'
import { createTestnet, type Testnet, type TestnetHost, type TestnetSupernode } from '../../node/testing/testnet.js'
import { createHarness, type Harness } from '../overlay/bad-input-harness.js'

let net: Testnet | undefined
let h: Harness | undefined
afterEach(async () => {
  net?.close()
  h?.close()
  net = h = undefined
  await flushAsync()
})

/** Two supernodes that serve hosts, and eve: a member's supernode in the same mesh that serves none of them. */
async function mesh (): Promise<{ net: Testnet, a: TestnetSupernode, b: TestnetSupernode, eve: TestnetSupernode }> {
  const testnet = net = await createTestnet()
  const a = await testnet.addSupernode('sn-a')
  const b = await testnet.addSupernode('sn-b')
  const eve = await testnet.addSupernode('eve')
  return { net: testnet, a, b, eve }
}

/**
 * Whether any record names `user` or holds its device key: every string in it is searched, base64url
 * ones decoded first (a signed locator's body and certificate are base64url of JSON).
 */
function mentions (records: DhtRecord[], user: string, deviceKey: string): boolean {
  const needles = [Buffer.from(user), Buffer.from(deviceKey), Buffer.from(fromBase64url(deviceKey) as Uint8Array)]
  const strings = (value: unknown): string[] => typeof value === 'string'
    ? [value]
    : typeof value === 'object' && value !== null ? Object.values(value).flatMap(strings) : []
  return records.flatMap(strings).some(text => {
    const decoded = fromBase64url(text)
    // A random base64url string may spell a short name by chance; its decoded bytes almost never do.
    const haystack = decoded === undefined || /^[0-9a-f]+$/.test(text) ? Buffer.from(text) : Buffer.from(decoded)
    return needles.some(needle => haystack.includes(needle))
  })
}

const presenceFrom = (viewer: TestnetHost, user: string): unknown[] => [
  ...viewer.deliveries.filter(d => d.from === user && d.type === 'presence'),
  ...viewer.events.filter(e => e.event === 'presence' && e.user === user)
]

describe('presence is for contacts', () => {
  it('a supernode that does not serve a user finds nothing in the DHT records it holds that says the user is online', async () => {
    const { net, a, b, eve } = await mesh()
    const ulla = net.addHost('ulla', { contacts: ['carl'], supernodes: [a.supernode.ref] })
    const carl = net.addHost('carl', { contacts: ['ulla'], supernodes: [b.supernode.ref] })
    await net.run(2000)
    // Honest path first: ulla's contact finds her.
    expect(carl.host.presenceOf('ulla')).toBe('online')
    const sent = carl.host.sendText('ulla', 'hi')
    await net.run(500)
    expect((await sent).delivered).toBe(1)

    // Eve's operator reads everything eve stores for the mesh (with 3 supernodes, every record).
    const held = eve.supernode.heldRecords()
    expect(held.length, 'eve holds the mesh\'s records').toBeGreaterThanOrEqual(2)
    expect(held.filter(r => r.key === keyFor('ulla')), 'a record under keyFor(ulla)').toEqual([])
    expect(mentions(held, 'ulla', ulla.identity.deviceKey), 'eve\'s records name ulla or her device').toBe(false)
    // The check can see a name: carl's locator as sent at registration does name him.
    expect(mentions([{ key: '', subkey: '', seq: 0, expiresAt: 0, value: carl.identity.certificate }], 'carl', carl.identity.deviceKey)).toBe(true)
    // Every record eve holds is sealed: nothing in it is a signed locator.
    for (const record of held) expect(Object.keys(record.value as object).sort()).toEqual(['pub', 'sealed', 'sig'])
  })

  it("a supernode peer probing another supernode with 'forward' gets the same answer whether the user is there or not", async () => {
    h = await createHarness()
    const harness = h
    /** What a member's supernode learns from forwarding one envelope for alice. */
    const probe = async (token: string | undefined): Promise<string> => {
      const peer = await harness.attacker('evesn')
      peer.sendJson({ t: 'peer-hello', address: '198.18.9.9:7701' })
      const envelope = harness.text(peer.device, 'alice', 'is alice here?')
      peer.sendJson(token === undefined ? { t: 'forward', id: 1, to: 'alice', envelope } : { t: 'forward', id: 1, to: 'alice', envelope, token })
      await harness.run(30)
      const result = peer.received('forward-result')[0]
      const answer = result === undefined ? `closed: ${peer.closedReason ?? 'no answer'}` : `delivered ${result.delivered}`
      peer.close()
      await harness.run(10)
      return answer
    }
    const guessed = randomBytes(32).toString('hex')
    const alice = await harness.addHost('alice')
    const whileOnline = [await probe(undefined), await probe(guessed)]
    expect(alice.events.filter(e => e.event === 'message'), 'alice got a probe').toEqual([])
    alice.host.close()
    await harness.run(100)
    const whileOffline = [await probe(undefined), await probe(guessed)]
    expect(whileOnline).toEqual(whileOffline)
  })

  it("a non-contact's host cannot tell whether a user is online: presence queries and routes answer the same both ways", async () => {
    const { net, a, b } = await mesh()
    const ulla = net.addHost('ulla', { contacts: ['carl'], supernodes: [a.supernode.ref] })
    const carl = net.addHost('carl', { contacts: ['ulla'], supernodes: [b.supernode.ref] })
    // One stranger on ulla's own supernode (local delivery), one on another; one guesses a capability.
    const strangers = [
      net.addHost('mallory', { supernodes: [a.supernode.ref] }),
      net.addHost('mark', { supernodes: [b.supernode.ref] }),
      net.addHost('guess', { supernodes: [a.supernode.ref] })
    ]
    await net.run(2000)
    strangers[2]!.host.setAudience(['ulla'], [{ user: 'ulla', lookupKey: keyFor('ulla'), sealKey: toBase64url(randomBytes(32)) }])
    await net.run(200)

    const observe = async (): Promise<Array<{ delivered: number, presence: unknown[] }>> => await Promise.all(strangers.map(async stranger => {
      stranger.host.queryPresence(['ulla'])
      const sending = stranger.host.sendText('ulla', 'are you there?')
      await net.run(500)
      return { delivered: (await sending).delivered, presence: presenceFrom(stranger, 'ulla') }
    }))
    const whileOnline = await observe()
    expect(ulla.events.filter(e => e.event === 'message'), 'ulla got a stranger\'s message').toEqual([])
    // Her contact still reaches her: the guessed capability misrouted only its own host's traffic.
    const fromCarl = carl.host.sendText('ulla', 'hi ulla')
    await net.run(500)
    expect((await fromCarl).delivered).toBe(1)
    ulla.host.close()
    await net.run(1000)
    const whileOffline = await observe()
    expect(whileOnline).toEqual(whileOffline)
    expect(whileOnline.every(seen => seen.delivered === 0 && seen.presence.length === 0)).toBe(true)
  })

  it('an invisible user shows offline to its contact, even when asked, yet gets the contact\'s message; no other supernode learns of it', async () => {
    const { net, a, b, eve } = await mesh()
    const vic = net.addHost('vic', { contacts: ['carl'], status: 'invisible', supernodes: [a.supernode.ref] })
    const carl = net.addHost('carl', { contacts: ['vic', 'ulla'], supernodes: [b.supernode.ref] })
    net.addHost('ulla', { contacts: ['carl'], supernodes: [a.supernode.ref] })
    await net.run(2000)
    expect(vic.host.supernode?.deviceKey).toBe(a.supernode.ref.deviceKey)
    // The visible contact on the same supernode shows online: the check below is not vacuous.
    expect(carl.host.presenceOf('ulla')).toBe('online')

    carl.host.queryPresence(['vic', 'ulla'])
    await net.run(1000)
    expect(carl.host.presenceOf('vic')).toBe('offline')
    expect(presenceFrom(carl, 'vic'), 'a signed presence from vic reached carl').toEqual([])

    const sent = carl.host.sendText('vic', 'are you there?')
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(vic.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'carl', text: 'are you there?' }))

    // The supernodes that do not serve vic hold nothing that names it or its device.
    for (const other of [b, eve]) {
      expect(mentions(other.supernode.heldRecords(), 'vic', vic.identity.deviceKey), `${other.user} holds vic's locator in clear`).toBe(false)
    }
  })
})

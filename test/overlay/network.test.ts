// 5 supernodes and 50 hosts running the real protocol over the in-memory
// network, on a fake clock: finding contacts, presence to exactly the authorized
// contacts, invisible, blocked, and a supernode crash mid-run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet, type TestnetHost } from '../../node/testing/testnet.js'

const HOSTS = 50
const SUPERNODES = 5
const REHOME_BOUND_MS = 5000
const name = (i: number): string => `user${String((i + HOSTS) % HOSTS).padStart(2, '0')}`
/** Contacts: the two users on each side in a ring, mutual. */
const contactsOf = (i: number): string[] => [name(i - 2), name(i - 1), name(i + 1), name(i + 2)]

let net: Testnet
let hosts: TestnetHost[]
const INVISIBLE = name(10)
const BLOCKER = name(20)
const BLOCKED = name(21)

beforeAll(async () => {
  net = await createTestnet()
  for (let i = 0; i < SUPERNODES; i++) await net.addSupernode(`super${i}`)
  hosts = []
  for (let i = 0; i < HOSTS; i++) {
    const user = name(i)
    hosts.push(net.addHost(user, {
      contacts: contactsOf(i),
      blocked: user === BLOCKER ? [BLOCKED] : [],
      status: user === INVISIBLE ? 'invisible' : 'online',
      // Each host knows two supernodes, as from a login server's random sample.
      supernodes: [net.supernodes[i % SUPERNODES]!.supernode.ref, net.supernodes[(i + 1) % SUPERNODES]!.supernode.ref]
    }))
  }
  await net.run(3000)
}, 60_000)

afterAll(() => { net.close() })

const byName = (user: string): TestnetHost => hosts.find(h => h.user === user)!

describe('an overlay of 5 supernodes and 50 hosts', () => {
  it('attaches every host and spreads them over the supernodes', () => {
    expect(hosts.filter(h => h.host.supernode === undefined)).toEqual([])
    for (const sn of net.supernodes) expect(sn.supernode.stats().hosts).toBeGreaterThan(0)
    expect(net.supernodes.reduce((n, sn) => n + sn.supernode.stats().hosts, 0)).toBe(HOSTS)
  })

  it('shows each user online to exactly its authorized contacts', () => {
    for (let i = 0; i < HOSTS; i++) {
      const viewer = hosts[i]!
      for (let j = 0; j < HOSTS; j++) {
        const other = name(j)
        if (j === i) continue
        // A block works both ways for presence: the blocked user learns nothing, the blocker ignores them.
        const blockedPair = [viewer.user, other].sort().join() === [BLOCKER, BLOCKED].sort().join()
        const authorized = contactsOf(i).includes(other) && other !== INVISIBLE && !blockedPair
        expect(viewer.host.presenceOf(other), `${viewer.user} sees ${other}`).toBe(authorized ? 'online' : 'offline')
      }
    }
  })

  it('never pushes presence to users outside the audience, even to one that accepts everything', async () => {
    const snoop = net.addHost('snooper', { supernodes: [net.supernodes[0]!.supernode.ref] })
    await net.run(1000)
    snoop.host.queryPresence(hosts.map(h => h.user))
    hosts[5]!.host.setStatus('away')
    await net.run(1000)
    expect(snoop.events.filter(e => e.event === 'presence')).toEqual([])
    expect(byName(name(6)).host.presenceOf(name(5))).toBe('away')
    hosts[5]!.host.setStatus('online')
    await net.run(500)
  })

  it('finds every contact: a message from each user to its contact two places on arrives with a receipt', async () => {
    // Contacts only: a user's locators can be found only with the lookup capability its contacts get.
    const sends = hosts.map((h, i) => h.host.sendText(name(i + 2), `hi from ${h.user}`))
    await net.run(2000)
    const results = await Promise.all(sends)
    expect(results.map(r => r.delivered)).toEqual(hosts.map(() => 1))
    for (let i = 0; i < HOSTS; i++) {
      expect(hosts[(i + 2) % HOSTS]!.events).toContainEqual(
        expect.objectContaining({ event: 'message', from: hosts[i]!.user, text: `hi from ${hosts[i]!.user}` }))
      expect(hosts[i]!.events).toContainEqual(expect.objectContaining({ event: 'receipt', ref: results[i]!.id }))
    }
  })

  it('keeps an invisible user offline to contacts but reachable', async () => {
    const neighbour = byName(name(11))
    expect(neighbour.host.presenceOf(INVISIBLE)).toBe('offline')
    const sent = neighbour.host.sendText(INVISIBLE, 'are you there?')
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(byName(INVISIBLE).events).toContainEqual(expect.objectContaining({ event: 'message', from: name(11) }))
  })

  it('tells a blocked user nothing: no presence, no receipt', async () => {
    const blocked = byName(BLOCKED)
    expect(blocked.host.presenceOf(BLOCKER)).toBe('offline')
    expect(blocked.events.filter(e => e.event === 'presence' && e.user === BLOCKER)).toEqual([])
    const sent = blocked.host.sendText(BLOCKER, 'hello?')
    await net.run(1000)
    const { id } = await sent
    expect(byName(BLOCKER).events.filter(e => e.event === 'message' && e.from === BLOCKED)).toEqual([])
    expect(blocked.events.filter(e => e.event === 'receipt' && e.ref === id)).toEqual([])
  })

  it('re-homes every host of a killed supernode within the bound, and contacts still see them online', async () => {
    const victim = net.supernodes[2]!
    const orphans = hosts.filter(h => h.host.supernode?.deviceKey === victim.supernode.ref.deviceKey)
    expect(orphans.length).toBeGreaterThan(0)
    const killedAt = net.clock.now()
    const marks = new Map(orphans.map(h => [h.user, h.events.length]))
    net.killSupernode(victim)
    await net.run(REHOME_BOUND_MS)
    for (const orphan of orphans) {
      const attached = orphan.events.slice(marks.get(orphan.user)).find(e => e.event === 'attached')
      expect(attached, `${orphan.user} re-attached`).toBeDefined()
      expect(orphan.host.supernode?.deviceKey).not.toBe(victim.supernode.ref.deviceKey)
    }
    expect(net.clock.now() - killedAt).toBeLessThanOrEqual(REHOME_BOUND_MS)
    // Everyone is still reachable and still shown online to contacts.
    for (const orphan of orphans) {
      const i = hosts.indexOf(orphan)
      const contact = hosts[(i + 1) % HOSTS]!
      if (orphan.user !== INVISIBLE && !(contact.user === BLOCKED && orphan.user === BLOCKER)) {
        expect(contact.host.presenceOf(orphan.user), `${contact.user} sees ${orphan.user}`).toBe('online')
      }
      const sent = contact.host.sendText(orphan.user, 'still there?')
      await net.run(300)
      expect((await sent).delivered, `${orphan.user} reachable`).toBe(1)
    }
  })
})

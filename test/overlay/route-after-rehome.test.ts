// Routing to a user whose supernode just died: the sender's supernode holds a
// cached locator that names the dead supernode. Once the user has re-homed and
// re-published, a message to them must arrive at the first try (a call's re-offer
// or hangup cannot wait for the cache to expire): the router looks the user up
// again in the DHT when forwarding by the cached locator fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet, type TestnetHost } from '../../node/testing/testnet.js'
import { LOCATOR_CACHE_MS } from '../../node/overlay/constants.js'

let net: Testnet
let alice: TestnetHost, bob: TestnetHost

beforeAll(async () => {
  net = await createTestnet()
  for (let i = 0; i < 3; i++) await net.addSupernode(`super${i}`)
  const [sn0, sn1, sn2] = net.supernodes.map(sn => sn.supernode.ref)
  alice = net.addHost('alice', { contacts: ['bob'], supernodes: [sn0!] })
  bob = net.addHost('bob', { contacts: ['alice'], supernodes: [sn1!, sn2!] })
  await net.run(3000)
}, 60_000)

afterAll(() => { net.close() })

/** Runs the fake clock until `work` settles (or `maxMs` passed); resolves with its result and the time it took. */
async function settle<T> (work: Promise<T>, maxMs: number): Promise<{ value: T | undefined, ms: number }> {
  let value: T | undefined
  let done = false
  void work.then(v => { value = v; done = true }, () => { done = true })
  const started = net.clock.now()
  while (!done && net.clock.now() - started < maxMs) await net.run(50)
  return { value, ms: net.clock.now() - started }
}

describe('routing after the recipient re-homed', () => {
  it('reaches the user at the first try although the cached locator names their dead supernode', async () => {
    expect(alice.host.supernode?.deviceKey).toBe(net.supernodes[0]!.supernode.ref.deviceKey)
    const bobsSupernode = net.supernodes.find(sn => sn.supernode.ref.deviceKey === bob.host.supernode?.deviceKey)!
    expect(bobsSupernode).not.toBe(net.supernodes[0])
    // Alice's supernode looks bob up and caches his locator.
    const first = alice.host.send('bob', { type: 'probe', n: 1 })
    await net.run(200)
    expect((await first).delivered).toBe(1)
    const mark = bob.events.length
    net.killSupernode(bobsSupernode)
    // Bob re-homes and re-publishes well inside the cache's lifetime.
    for (let waited = 0; !bob.events.slice(mark).some(e => e.event === 'attached') && waited < 3000; waited += 50) await net.run(50)
    await net.run(500)
    expect(bob.host.supernode?.deviceKey).not.toBe(bobsSupernode.supernode.ref.deviceKey)
    const second = await settle(alice.host.send('bob', { type: 'probe', n: 2 }), 30_000)
    expect(second.value?.delivered, `delivered after ${second.ms} ms`).toBe(1)
    expect(second.ms).toBeLessThan(LOCATOR_CACHE_MS)
  })
})

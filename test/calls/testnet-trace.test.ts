// A whole call's signaling on the testnet, twice with the same seed: two hosts
// on different supernodes, invite → ringing → answer → connected → hangup →
// ended, under the fake clock. Time and chance are all injected, so the two
// runs produce the same event trace, timestamps and call ids included.
import { describe, expect, it } from 'vitest'
import { createTestnet } from '../../node/testing/testnet.js'
import { addTestnetPhone, type TestnetPhone } from '../../node/testing/testnet-calls.js'

async function tracedCall (seed: number): Promise<Array<{ who: string } & TestnetPhone['events'][number]>> {
  const net = await createTestnet({ seed })
  try {
    await net.addSupernode('super1')
    await net.addSupernode('super2')
    const phones: TestnetPhone[] = []
    const others = (user: string) => () => phones.filter(p => p.host.user !== user)
    const alice = addTestnetPhone(net, net.addHost('alice', { contacts: ['bob'], supernodes: [net.supernodes[0]!.supernode.ref] }), others('alice'), seed)
    const bob = addTestnetPhone(net, net.addHost('bob', { contacts: ['alice'], supernodes: [net.supernodes[1]!.supernode.ref] }), others('bob'), seed)
    phones.push(alice, bob)
    await net.run(1500)
    expect(alice.host.host.supernode?.deviceKey).not.toBe(bob.host.host.supernode?.deviceKey)

    const placed = alice.calls.call('bob')
    await net.run(300)
    const callId = await placed
    const answered = bob.calls.answer(callId)
    await net.run(300)
    await answered
    await net.run(1000)
    alice.calls.hangup(callId)
    await net.run(300)
    return [...alice.events.map(e => ({ who: 'alice', ...e })), ...bob.events.map(e => ({ who: 'bob', ...e }))].sort((a, b) => a.at - b.at)
  } finally {
    net.close()
  }
}

describe('a call on the testnet, replayed', () => {
  it('runs its signaling to ended on both sides, and the same seed gives the same trace', async () => {
    const first = await tracedCall(42)
    expect(first.map(e => `${e.who} ${e.event}`)).toEqual([
      'bob incoming', 'alice ringing', 'alice connected', 'bob connected', 'alice ended', 'bob ended'
    ])
    expect(first.filter(e => e.event === 'ended').map(e => (e as { reason?: string }).reason)).toEqual(['hangup', 'hangup'])
    // Time passes between the steps (the overlay routes across two supernodes).
    expect(first.at(-1)!.at - first[0]!.at).toBeGreaterThan(1000)
    const second = await tracedCall(42)
    expect(second).toEqual(first)
  })

  it('another seed gives other call ids', async () => {
    const [a, b] = [await tracedCall(1), await tracedCall(2)]
    expect(a[0]!.callId).not.toBe(b[0]!.callId)
  })
})

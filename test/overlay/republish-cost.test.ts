// What one host's republish costs its supernode in signature checks (Ed25519 verifies are most
// of a supernode's idle CPU: every host re-signs its locator and presence each interval). The
// host's certificate was verified at the link's handshake and its sealed record on arrival:
// neither is checked again, nor is the pre-signed offline (checked when it is sent, once): a
// republish costs three verifies.
import { afterEach, describe, expect, it } from 'vitest'
import { REPUBLISH_INTERVAL_MS, REPUBLISH_JITTER } from '../../node/overlay/constants.js'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'

describe('a republish at the supernode', () => {
  let net: Testnet | undefined
  let restore = (): void => {}
  afterEach(() => { restore(); net?.close() })

  it('costs three signature checks: the locator, its sealed twin and the presence', async () => {
    net = await createTestnet()
    const { sodium } = net
    const verify = sodium.crypto_sign_verify_detached
    let verifies = 0
    sodium.crypto_sign_verify_detached = (...args: Parameters<typeof verify>) => { verifies++; return verify(...args) }
    restore = () => { sodium.crypto_sign_verify_detached = verify }

    // One supernode (no DHT peers to replicate to): every check counted is the home supernode's.
    const home = await net.addSupernode('super1')
    const alice = net.addHost('alice', { supernodes: [home.supernode.ref] })
    await net.run(1000)
    expect(alice.host.supernode?.deviceKey).toBe(home.supernode.ref.deviceKey)

    // Each burst of checks within one second of simulated time is one republish.
    const bursts: number[] = []
    for (let t = 0; t < 3 * REPUBLISH_INTERVAL_MS * (1 + REPUBLISH_JITTER); t += 1000) {
      const before = verifies
      await net.run(1000, 50)
      if (verifies > before) bursts.push(verifies - before)
    }
    expect(bursts.length).toBeGreaterThanOrEqual(2)
    expect(bursts).toEqual(bursts.map(() => 3))
  })
})

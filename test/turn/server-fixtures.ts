// Addresses and helpers the sans-IO TURN server tests share: a client with an allocation and a
// permission, and picking actions out of what the server returned.
import { expect } from 'vitest'
import type { TransportAddress } from '../../node/relay/ip.js'
import type { TurnAction } from '../../node/relay/server/turn-server.js'
import { createHarness, errorOf, TestClient, type Harness } from './helpers.js'

export const ALICE = { address: '198.18.1.10', port: 40000 }
export const BOB = { address: '198.18.2.20', port: 41000 }
export const PEER = { address: '198.18.3.30', port: 5004 }
export const PEER_OTHER_PORT = { address: '198.18.3.30', port: 5006 }
export const STRANGER = { address: '198.18.9.99', port: 7000 }
export const payload = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill)

export function only<T extends TurnAction['type']> (actions: TurnAction[], type: T): Extract<TurnAction, { type: T }> {
  const found = actions.filter(action => action.type === type)
  expect(found, `expected one ${type} in ${JSON.stringify(actions.map(a => a.type))}`).toHaveLength(1)
  return found[0] as Extract<TurnAction, { type: T }>
}

export function allocationIdOf (harness: Harness, relay: TransportAddress): string {
  for (const [id, address] of harness.relays) if (address.port === relay.port) return id
  throw new Error('no such relay')
}

/** Alice with an allocation, a permission for PEER, and its relay. */
export function allocatedAlice (init: Parameters<typeof createHarness>[0] = {}): { harness: Harness, alice: TestClient, relay: TransportAddress, id: string } {
  const harness = createHarness(init)
  const alice = new TestClient(harness, ALICE)
  const relay = alice.allocated()
  expect(errorOf(alice.createPermission(PEER))).toBeUndefined()
  return { harness, alice, relay, id: allocationIdOf(harness, relay) }
}

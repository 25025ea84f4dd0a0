// An in-process DHT network: every node's rpc calls the target node's handleRequest
// directly (through a JSON round trip, as on the wire), one microtask later. Peers in
// `dead` (or unknown) make rpc reject as a real link would.
import { seededRandomBytes } from '../helpers/random.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import { createDht, type Dht, type DhtComponents, type DhtInit } from '../../node/overlay/dht/dht.js'
import { compareDistance, keyFor, xorDistance } from '../../node/overlay/dht/ids.js'
import type { DhtPeer, DhtRecord, DhtRequest, DhtResponse } from '../../node/overlay/dht/messages.js'

export interface NetworkOptions {
  init?: Partial<Omit<DhtInit, 'self'>>
  validateRecord?: (record: DhtRecord) => string | undefined
}

export interface Network {
  clock: FakeClock
  nodes: Map<string, Dht>
  dead: Set<string>
  /** Requests sent, by type. */
  sent: Map<string, number>
  /** Replaces the answer of a node (to play a rogue peer); return undefined to answer normally. */
  intercept: Map<string, (request: DhtRequest) => unknown>
  /** Creates a node with a deterministic id (sha256 of its name). */
  add: (name?: string) => Dht
  /** Makes a node unreachable and stops it. */
  kill: (id: string) => void
  live: () => Dht[]
  /** Brute force: the `n` live node ids closest to `target`, optionally leaving one out. */
  trueClosest: (target: string, n: number, exceptId?: string) => string[]
  /** Lets every queued promise continuation run. */
  settle: () => Promise<void>
  closeAll: () => void
}

const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

export function createNetwork (options: NetworkOptions = {}): Network {
  const clock = new FakeClock()
  const nodes = new Map<string, Dht>()
  const dead = new Set<string>()
  const sent = new Map<string, number>()
  const intercept = new Map<string, (request: DhtRequest) => unknown>()
  let counter = 0

  const rpcFrom = (self: DhtPeer): DhtComponents['rpc'] => async (peer, request) => {
    await Promise.resolve()
    sent.set(request.t, (sent.get(request.t) ?? 0) + 1)
    const target = nodes.get(peer.id)
    if (target === undefined || dead.has(peer.id)) throw new Error(`${peer.address} unreachable`)
    const rogue = intercept.get(peer.id)?.(wire(request))
    if (rogue !== undefined) return rogue as DhtResponse
    return wire(await target.handleRequest(wire(self), wire(request)))
  }

  const network: Network = {
    clock,
    nodes,
    dead,
    sent,
    intercept,
    add: (name = `node-${counter++}`) => {
      const id = keyFor(name)
      const self = { id, address: `127.0.0.1:${10_000 + nodes.size}` }
      const dht = createDht({
        clock,
        rpc: rpcFrom(self),
        validateRecord: options.validateRecord,
        randomBytes: seededRandomBytes(name)
      }, { ...options.init, self })
      nodes.set(id, dht)
      return dht
    },
    kill: id => {
      dead.add(id)
      nodes.get(id)?.close()
    },
    live: () => [...nodes.values()].filter(dht => !dead.has(dht.self.id)),
    trueClosest: (target, n, exceptId) => [...nodes.keys()]
      .filter(id => !dead.has(id) && id !== exceptId)
      .sort((a, b) => compareDistance(xorDistance(a, target), xorDistance(b, target)))
      .slice(0, n),
    settle: async () => {
      for (let i = 0; i < 5; i++) await flushAsync()
    },
    closeAll: () => { for (const dht of nodes.values()) dht.close() }
  }
  return network
}

/** Creates `count` nodes; every one bootstraps from the first, one after the other. */
export async function bootstrappedNetwork (count: number, options: NetworkOptions = {}): Promise<Network> {
  const network = createNetwork(options)
  const seed = network.add()
  for (let i = 1; i < count; i++) {
    const dht = network.add()
    await dht.bootstrap([seed.self])
  }
  await network.settle()
  return network
}

export function recordFor (key: string, subkey: string, value: unknown, clock: FakeClock, overrides: Partial<DhtRecord> = {}): DhtRecord {
  return { key, subkey, value, seq: 1, expiresAt: clock.now() + 60 * 60 * 1000, ...overrides }
}

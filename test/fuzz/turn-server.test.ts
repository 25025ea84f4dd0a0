// Fuzz: one TURN server (node/relay/server, sans-IO) over a long run of packets from a handful
// of clients: Allocate, Refresh, CreatePermission, ChannelBind, Send and ChannelData with
// attribute values at and past their bounds, properly authenticated (so they reach the method
// handlers) or mutated, peer data to real and bogus relays, and time passing. Every packet is
// answered, relayed, or dropped with a logged reason; the tables stay within their quotas.
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { METHOD } from '../../node/relay/constants.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute, type StunAttribute } from '../../node/relay/stun/attributes.js'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { decodeStunMessage } from '../../node/relay/stun/message.js'
import { createTurnServer, type TurnAction } from '../../node/relay/server/turn-server.js'
import type { Logger } from '../../common/logger.js'
import { seededRandomBytes } from '../helpers/random.js'
import { RELAY_IP, REALM, SECRET, TestClient, type Harness } from '../turn/helpers.js'
import { mutateBytes } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { fuzzConfig, fuzzTimeout, replayFixtures, runFuzz, type FuzzTarget, type Verdict } from './kit/runner.js'
import { expectHeapFlat } from './kit/suite.js'
import { address, randomAttributes } from './kit/stun-values.js'

const QUOTAS = { maxAllocations: 12, maxAllocationsPerUser: 4, maxAllocationsPerAddress: 3, maxPermissions: 6, maxChannels: 6 }

/** The server with a fake edge (as test/turn/helpers.ts builds it) and the last drop it logged. */
function fuzzHarness (): Harness & { lastDrop: () => string | undefined } {
  const clock = new FakeClock()
  let lastDrop: string | undefined
  const log: Logger = {
    debug: (fields: object, msg: string) => { if (msg === 'turn: packet dropped') lastDrop = `${(fields as { reason: string }).reason}: ${(fields as { detail: string }).detail}` },
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => log
  }
  const server = createTurnServer({ clock, random: seededRandomBytes('turn-fuzz'), log },
    { realm: REALM, secret: SECRET, relayAddress: RELAY_IP, allowPrivatePeers: true, quotas: QUOTAS })
  const relays = new Map<string, TransportAddress>()
  let nextPort = 50000
  const openRelays = (actions: TurnAction[]): TurnAction[] => actions.flatMap(action => {
    if (action.type !== 'open-relay') return [action]
    const relay = { address: action.address, port: nextPort++ + (action.evenPort && nextPort % 2 === 0 ? 1 : 0) }
    relays.set(action.allocationId, relay)
    // Sometimes the edge cannot open the socket.
    if (nextPort % 17 === 0) return server.relayFailed(action.allocationId, 'fuzz: port in use')
    const reserved = action.reserveNextAs === undefined ? undefined : { allocationId: action.reserveNextAs, relay: { address: action.address, port: nextPort++ } }
    return server.relayOpened(action.allocationId, relay, reserved)
  })
  return { clock, server, timerActions: [], relays, openRelays, lastDrop: () => { const drop = lastDrop; lastDrop = undefined; return drop } }
}

/** One step of the run: a client packet, peer data to a relay, or time passing. */
type Step =
  | { kind: 'client', client: number, bytes: Uint8Array }
  | { kind: 'peer', relay: string, from: TransportAddress, bytes: Uint8Array }
  | { kind: 'time', ms: number }

describe('fuzz: one TURN server over a long run of packets', () => {
  const harness = fuzzHarness()
  const { server } = harness
  const addresses = [{ address: '198.18.1.10', port: 40000 }, { address: '198.18.1.10', port: 40002 }, { address: '198.18.2.20', port: 41000 }, { address: '2001:db8::7', port: 42000 }]
  const clients = addresses.flatMap((from, i) => [new TestClient(harness, from, 'alice'), new TestClient(harness, from, i % 2 === 0 ? 'bob' : 'carol', 60)])
  const config = fuzzConfig(4000)

  const methodAttributes = (rng: Rng, method: number): StunAttribute[] => {
    const peers = (): StunAttribute[] => Array.from({ length: rng.int(0, 8) }, () => ({ type: 'XOR-PEER-ADDRESS', value: address(rng) }))
    switch (method) {
      case METHOD.ALLOCATE: return rng.bool(0.8) ? [{ type: 'REQUESTED-TRANSPORT', value: 17 }, ...randomAttributes(rng, 2)] : randomAttributes(rng, 4)
      case METHOD.REFRESH: return rng.bool(0.7) ? [{ type: 'LIFETIME', value: rng.pick([0, 1, 600, 3600, 2 ** 32 - 1]) }] : randomAttributes(rng, 3)
      case METHOD.CREATE_PERMISSION: return [...peers(), ...randomAttributes(rng, 1)]
      case METHOD.CHANNEL_BIND: return [{ type: 'CHANNEL-NUMBER', value: rng.pick([0x4000, 0x4001, 0x4002, 0x3fff, 0x7fff, 0x8000]) }, ...peers().slice(0, rng.int(0, 2)), ...randomAttributes(rng, 1)]
      case METHOD.SEND: return [...peers().slice(0, rng.int(0, 2)), { type: 'DATA', value: rng.bytes(rng.length(1400)) }]
      default: return randomAttributes(rng, 3)
    }
  }

  const generate = (rng: Rng): Step => {
    const r = rng.float()
    if (r < 0.02) return { kind: 'time', ms: rng.pick([1000, 30_000, 120_000, 700_000]) }
    if (r < 0.13) {
      const relays = [...harness.relays.keys()]
      return { kind: 'peer', relay: relays.length === 0 || rng.bool(0.1) ? 'no-such-allocation' : rng.pick(relays), from: address(rng), bytes: rng.bytes(rng.length(1500)) }
    }
    const client = rng.int(0, clients.length - 1)
    if (r < 0.2) return { kind: 'client', client, bytes: encodeChannelData(rng.pick([0x4000, 0x4001, 0x4002, 0x7fff]), rng.bytes(rng.length(1400))) }
    const method = rng.pick([METHOD.ALLOCATE, METHOD.ALLOCATE, METHOD.REFRESH, METHOD.CREATE_PERMISSION, METHOD.CHANNEL_BIND, METHOD.SEND, METHOD.SEND, METHOD.BINDING, rng.bool(0.3) ? METHOD.DATA : METHOD.REFRESH])
    const cls = method === METHOD.SEND || rng.bool(0.05) ? 'indication' as const : 'request' as const
    const bytes = (clients[client] as TestClient).encode(method, methodAttributes(rng, method), { cls, auth: rng.bool(0.9) })
    return { kind: 'client', client, bytes: rng.bool(0.15) ? mutateBytes(rng, bytes) : bytes }
  }

  /** The verdict of what the server did with one packet; learns a new NONCE from a 401/438 like a client. */
  const verdictOf = (client: TestClient | undefined, actions: TurnAction[]): Verdict => {
    const replies = actions.filter(action => action.type === 'send-to-client')
    for (const reply of replies) {
      const decoded = decodeStunMessage(reply.bytes)
      expect(decoded.ok, 'the server answers with messages that decode').toBe(true)
      if (!decoded.ok) continue
      const nonce = findAttribute(decoded.message, 'NONCE')?.value
      if (client !== undefined && nonce !== undefined) client.nonce = nonce
      const error = findAttribute(decoded.message, 'ERROR-CODE')?.value
      if (error !== undefined && client !== undefined && /credentials expired/.test(error.reason)) {
        // A client whose credentials ran out asks its supernode for new ones.
        client.credentials = issueTurnCredentials(SECRET, client.credentials.username.split(':')[1] as string, 600, harness.clock.now())
        client.password = client.credentials.password
      }
      if (error !== undefined) return { ok: false, reason: `${error.code} ${error.reason}` }
    }
    const dropped = harness.lastDrop()
    if (actions.length === 0 && dropped !== undefined) return { ok: false, reason: `dropped (${dropped})` }
    return { ok: true }
  }

  const target: FuzzTarget<Step> = {
    parser: 'turn-server',
    generate,
    check: step => {
      if (step.kind === 'time') {
        harness.clock.advance(step.ms)
        return { ok: true }
      }
      if (step.kind === 'peer') return verdictOf(undefined, server.handleRelayPacket(step.relay, step.from, step.bytes))
      const client = clients[step.client % clients.length] as TestClient
      return verdictOf(client, harness.openRelays(server.handleClientPacket(client.from, step.bytes)))
    },
    save: step => ({ ext: 'json', data: JSON.stringify(step, (_key, value: unknown) => value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value) }),
    load: data => {
      const step = JSON.parse(data.toString('utf8')) as Step & { bytes?: string }
      return (step.bytes === undefined ? step : { ...step, bytes: new Uint8Array(Buffer.from(step.bytes, 'base64')) }) as Step
    }
  }

  it('replays the saved failing inputs (fixtures) without a crash', async () => {
    await replayFixtures(target)
  })

  it(`serves ${config.inputs} packets; allocations, permissions and channels stay within their quotas`, async () => {
    const report = await runFuzz(target, config)
    expectHeapFlat(report)
    const stats = server.stats()
    console.log(`turn-server after the run: ${stats.allocations} allocations (${stats.allocationsCreated} created), ${stats.pendingAllocations} pending, ${stats.reservations} reservations, ` +
      `${stats.successResponses} successes, dropped ${JSON.stringify(stats.dropped)}`)
    expect(stats.allocationsCreated, 'the run got past authentication into the methods').toBeGreaterThan(0)
    expect(report.accepted).toBeGreaterThan(0)
    expect(stats.allocations + stats.pendingAllocations).toBeLessThanOrEqual(QUOTAS.maxAllocations)
    for (const allocation of stats.perAllocation) {
      expect(allocation.permissions).toBeLessThanOrEqual(QUOTAS.maxPermissions)
      expect(allocation.channels).toBeLessThanOrEqual(QUOTAS.maxChannels)
    }
    const perUser = new Map<string, number>()
    for (const allocation of stats.perAllocation) perUser.set(allocation.user, (perUser.get(allocation.user) ?? 0) + 1)
    for (const count of perUser.values()) expect(count).toBeLessThanOrEqual(QUOTAS.maxAllocationsPerUser)
    server.close()
  }, fuzzTimeout(config))
})

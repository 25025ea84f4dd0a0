// What the bad-input test files share (bad-input*.test.ts): the harness with
// alice registered before each attack, and the checks of how the supernode
// refused it. A test file calls useBadInputHarness() once at its top.
import { afterEach, beforeEach, expect } from 'vitest'
import { flushAsync } from '../../node/net/fake-clock.js'
import { fromBase64url } from '../../common/base64url.js'
import type { Envelope } from '../../common/wire/signed-envelope.js'
import { sealedSubkey } from '../../common/wire/sealed-locator.js'
import { reachTokenOf } from '../../common/lookup-keys.js'
import { createHarness, type Device, type Harness, type HarnessOptions, type LegitHost, type WirePeer } from './bad-input-harness.js'

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
/** `text` with one base64url character in the middle replaced. */
export const flip = (text: string): string => {
  const at = Math.floor(text.length / 2)
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
}
export const tampered = (envelope: Envelope): Envelope => ({ ...envelope, body: flip(envelope.body) })

export let h: Harness
/** A legitimate host registered before every attack: the victim, and the witness that routing still works. Mallory, eve and bob are its contacts (the strongest attackers: they can look alice up). */
export let alice: LegitHost
/** A rejection nobody handles would take a real supernode process down: none may happen. */
let unhandled: unknown[]
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }

async function startHarness (options: HarnessOptions = {}): Promise<void> {
  h = await createHarness(options)
  alice = await h.addHost('alice', ['mallory', 'eve', 'bob'])
}

/** For a test that needs another harness than the default: closes this one, starts one with `options` (alice registered again). */
export async function restartHarness (options: HarnessOptions): Promise<void> {
  h.close()
  await startHarness(options)
}

/** Registers the hooks of a bad-input test file: a fresh harness with alice attached before each test, and no unhandled rejections after it. */
export function useBadInputHarness (): void {
  beforeEach(async () => {
    unhandled = []
    process.on('unhandledRejection', onUnhandled)
    await startHarness()
  })
  afterEach(async () => {
    h.close()
    await flushAsync()
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled, 'unhandled rejections').toEqual([])
  })
}

export type Attacker = WirePeer & { device: Device }

/** The subkey of alice's sealed locator record: only holders of her seal key can tell it is hers. */
export const aliceSubkey = (): string => sealedSubkey(fromBase64url(h.capabilityFor('alice').sealKey) as Uint8Array, alice.device.deviceKey)
/** What forwards to alice must carry: computed from her capability. */
export const aliceToken = (): string => reachTokenOf(h.capabilityFor('alice').sealKey)

/** The supernode dropped `peer` with a protocol error: logged as "disconnecting peer: <reason>", and the peer's connection closed with it. */
export function expectDisconnected (peer: Attacker, reason: RegExp): void {
  expect(peer.closedReason, 'the attacker\'s connection was closed').toMatch(/^remote closed: protocol error: /)
  expect(peer.closedReason).toMatch(reason)
  const lines = h.disconnects().filter(l => l.fields.peer === peer.device.user)
  expect(lines, 'one "disconnecting peer" warning naming the attacker').toHaveLength(1)
  expect(lines[0]?.msg).toMatch(reason)
}

/** The supernode refused the registration: logged as "registration refused: <reason>", the connection closed with it. */
export function expectRegistrationRefused (peer: Attacker, reason: RegExp): void {
  expect(peer.closedReason).toMatch(/^remote closed: registration refused: /)
  expect(peer.closedReason).toMatch(reason)
  const line = h.snLogs.find(l => l.level === 'warn' && l.msg.startsWith('registration refused: ') && l.fields.user === peer.device.user)
  expect(line?.msg).toMatch(reason)
  expect(peer.received('registered')).toEqual([])
}

/** The supernode refused the handshake (logged at info with the handshake error reason) and closed the connection. */
export function expectHandshakeRefused (peer: WirePeer, reason: string, detail: RegExp): void {
  expect(peer.closedReason).toMatch(new RegExp(`^remote closed: handshake failed \\(${reason}\\)`))
  const line = h.snLogs.find(l => l.msg.startsWith('link handshake refused: '))
  expect(line?.level).toBe('info')
  expect(line?.fields.reason).toBe(reason)
  expect(line?.msg).toMatch(detail)
}

/** Only the legitimate hosts are registered. */
export function expectRegisteredHosts (n: number): void {
  expect(h.sn.stats().hosts).toBe(n)
}

/** Nobody can reach `user`, and the supernode holds no locator of `user`. */
export async function expectNotFindable (user: string): Promise<void> {
  const sending = alice.host.sendText(user, 'anyone there?')
  await h.run(50)
  expect((await sending).delivered).toBe(0)
  expect(await h.dhtRecords(user)).toEqual([])
}

/** `target` got no message, and no envelope it had to drop (nothing was forwarded to it at all). */
export function expectNothingDelivered (target: LegitHost, messagesBefore = 0): void {
  expect(target.events.filter(e => e.event === 'message')).toHaveLength(messagesBefore)
  expect(target.logs.filter(l => l.msg.startsWith('dropped'))).toEqual([])
}

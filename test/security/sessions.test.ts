// Logout ends the device's certificate (real processes on loopback: a login
// server and a supernode started as `voxmesh` commands; the device under test
// is this process, speaking the real overlay protocol over WebSocket).
// The supernode learns revocations by polling the login server every
// REVOCATION_POLL_MS; it then closes the device's open link and refuses the
// old certificate at every later handshake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { systemClock } from '../../common/clock.js'
import { LoginClient } from '../../common/login-client.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { createWsTransport } from '../../node/net/ws-transport.js'
import { openLink } from '../../node/overlay/link.js'
import { createHost, type HostEvent } from '../../node/overlay/host.js'
import { createSupernodeCache } from '../../node/overlay/supernode-cache.js'
import { silentLogger } from '../../common/logger.js'
import type { SupernodeRef } from '../../node/overlay/messages.js'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { waitUntil } from '../helpers/wait.js'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let sodium: Sodium
let supernode: SupernodeRef
let issuerKey: Uint8Array

beforeAll(async () => {
  sodium = await loadSodium()
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice']) await net.createAccount(user)
  const sn = await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  const status = JSON.parse((await sn.cli('status', '--json')).stdout) as { advertise: string, deviceKey: string }
  supernode = { user: 'super1', deviceKey: status.deviceKey, address: status.advertise }
  issuerKey = fromBase64url((await new LoginClient(net.url).info()).publicKey) as Uint8Array
}, 60_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

/** Whether `check` came true within `timeoutMs` (the tests assert on the answer). */
const waitFor = async (check: () => boolean, timeoutMs: number): Promise<boolean> =>
  await waitUntil('the check', check, timeoutMs, 50).then(() => true, () => false)

/** A link handshake with `identity` to the supernode: resolves true when it completes, false when refused. */
const handshake = async (identity: LinkIdentity): Promise<boolean> => {
  const connection = await createWsTransport().dial(supernode.address, 2000)
  try {
    const link = await openLink({ sodium, clock: systemClock, identity, issuerKey, log: silentLogger }, connection, 'initiator', supernode.deviceKey)
    link.close('test done')
    return true
  } catch {
    return false
  }
}

describe('logout against a supernode (real login server and supernode processes)', () => {
  it('after DELETE /v1/sessions the supernode closes the device\'s open link and refuses its old certificate', async () => {
    const device = sodium.crypto_sign_keypair()
    const deviceKey = toBase64url(device.publicKey)
    const client = new LoginClient(net.url)
    const session = await client.createSession('alice', TEST_PASSWORD, deviceKey)
    const oldIdentity: LinkIdentity = { certificate: session.certificate, secretKey: device.privateKey }

    // An ordinary host of alice attaches with that certificate.
    const events: HostEvent[] = []
    const cache = createSupernodeCache()
    cache.add([supernode], Date.now())
    const host = createHost(
      { sodium, clock: systemClock, transport: createWsTransport(), identity: { ...oldIdentity }, issuerKey, log: silentLogger, cache },
      { user: 'alice', deviceKey, lookup: session.lookup, onEvent: event => { events.push(event) } }
    )
    try {
      host.start()
      expect(await waitFor(() => events.some(e => e.event === 'attached'), 10_000)).toBe(true)

      await client.logout()
      // The supernode closes the open link (bound: its revocation poll interval, plus a wide margin for a busy machine).
      expect(await waitFor(() => events.some(e => e.event === 'detached'), 15_000)).toBe(true)
    } finally {
      host.close()
    }
    // And a new handshake with the old certificate is refused.
    expect(await handshake(oldIdentity)).toBe(false)

    // Logging in again from the same device gives a certificate that works: only the old ones were revoked.
    const again = await new LoginClient(net.url).createSession('alice', TEST_PASSWORD, deviceKey)
    expect(await handshake({ certificate: again.certificate, secretKey: device.privateKey })).toBe(true)
  })
})

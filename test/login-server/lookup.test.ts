// Lookup keys from the login server: a user gets its own lookup (to publish
// its sealed locators) at login, and each authorized contact's capability (to
// find them) with its contact list; a blocked pair gets nothing; the secret
// they are derived from is a 0600 file that survives a restart.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { capabilityFor, openOwnLookup, type OwnLookup } from '../../common/lookup-keys.js'
import { createTestLoginServer, signUp, type TestLoginServer } from '../helpers/login-server.js'

interface ContactsBody { contacts: Array<{ username: string, since: number, lookupKey?: string, sealKey?: string }> }
type Auth = Record<string, string>

let server: TestLoginServer | undefined
afterEach(async () => { await server?.close() })

async function befriend (s: TestLoginServer, a: Auth, b: Auth, bName: string): Promise<void> {
  expect((await s.app.inject({ method: 'POST', url: '/v1/contacts/requests', headers: a, payload: { to: bName } })).statusCode).toBe(201)
  const incoming = (await s.app.inject({ method: 'GET', url: '/v1/contacts/requests', headers: b })).json() as { incoming: Array<{ id: number }> }
  expect((await s.app.inject({ method: 'POST', url: `/v1/contacts/requests/${incoming.incoming[0]!.id}/accept`, headers: b })).statusCode).toBe(200)
}

const contactsOf = async (s: TestLoginServer, auth: Auth): Promise<ContactsBody['contacts']> =>
  ((await s.app.inject({ method: 'GET', url: '/v1/contacts', headers: auth })).json() as ContactsBody).contacts

describe('lookup keys from the login server', () => {
  it("gives a user its own lookup at login, and its contacts the matching capability; a blocked pair gets none", async () => {
    const s = server = await createTestLoginServer()
    const alice = await signUp(s, 'alice') as Awaited<ReturnType<typeof signUp>> & { lookup: OwnLookup }
    const bob = await signUp(s, 'bob') as Awaited<ReturnType<typeof signUp>> & { lookup: OwnLookup }
    const carol = await signUp(s, 'carol')
    await befriend(s, alice.auth, bob.auth, 'bob')
    await befriend(s, alice.auth, carol.auth, 'carol')

    const own = openOwnLookup(s.sodium, alice.lookup)
    const seenByBob = (await contactsOf(s, bob.auth)).find(c => c.username === 'alice')
    expect(seenByBob).toMatchObject({ lookupKey: own.lookupKey, sealKey: alice.lookup.sealKey })
    expect((await contactsOf(s, alice.auth)).find(c => c.username === 'bob')).toMatchObject({ lookupKey: openOwnLookup(s.sodium, bob.lookup).lookupKey, sealKey: bob.lookup.sealKey })
    // Not the capability of the same name under another secret: it is the server's own secret that counts.
    expect(seenByBob?.lookupKey).not.toBe(capabilityFor(s.sodium, new Uint8Array(32), 'alice').lookupKey)

    // Carol blocks alice: neither of the pair gets the other's capability any more; the contact entry stays.
    expect((await s.app.inject({ method: 'POST', url: '/v1/blocks', headers: carol.auth, payload: { username: 'alice' } })).statusCode).toBeLessThan(300)
    expect((await contactsOf(s, carol.auth)).find(c => c.username === 'alice')).toEqual({ username: 'alice', since: expect.any(Number) })
    expect((await contactsOf(s, alice.auth)).find(c => c.username === 'carol')).toEqual({ username: 'carol', since: expect.any(Number) })
    expect((await contactsOf(s, alice.auth)).find(c => c.username === 'bob')).toMatchObject({ lookupKey: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })

  it('keeps the lookup secret in a 0600 file beside the signing key: the same keys after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-lookup-'))
    onTestFinished(() => { rmSync(dataDir, { recursive: true, force: true }) })
    const first = server = await createTestLoginServer({ dataDir })
    const alice = await signUp(first, 'alice') as Awaited<ReturnType<typeof signUp>> & { lookup: OwnLookup }
    expect(statSync(join(dataDir, 'lookup-secret')).mode & 0o777).toBe(0o600)
    await first.close()
    const second = server = await createTestLoginServer({ dataDir })
    const login = await second.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'alice', password: 'correct horse battery', deviceKey: alice.device.deviceKey } })
    expect((login.json() as { lookup: OwnLookup }).lookup).toEqual(alice.lookup)
  })
})

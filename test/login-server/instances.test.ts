// Two real `voxmesh login-server` processes on one PostgreSQL database (a temporary cluster of
// the test's own): whatever one instance writes, the other serves; races between them end as
// one would on one server; a limit holds across both; an instance killed mid-burst loses none
// of what it acknowledged; and a voxmesh network logs in through either.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { toBase64url, fromBase64url } from '../../common/base64url.js'
import { verifyCertificate } from '../../common/certificate.js'
import { killAll, runCli, startCli, type CliProcess } from '../helpers/processes.js'
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../helpers/postgres.js'
import { startVoxmeshNet, TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { makeContacts } from '../calls/attack-kit.js'
import { freePort } from '../helpers/ports.js'

const skip = postgresSkipReason()
const CHEAP = ['--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn']
const PASSWORD = 'correct horse battery'

let postgres: TestPostgres
let sodium: Sodium
let dir: string

beforeAll(async () => {
  if (skip !== undefined) return
  postgres = await startTestPostgres()
  sodium = await loadSodium()
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-instances-'))
}, 60_000)

afterAll(async () => {
  await killAll()
  await postgres?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

interface Instance { proc: CliProcess, url: string, publicKey: string, dataDir: string }

let started = 0
/** Starts an instance on `database`; with `keysFrom`, its keys are copied from that instance's data dir first. */
async function startInstance (database: string, keysFrom?: Instance): Promise<Instance> {
  const dataDir = join(dir, `login-${++started}`)
  mkdirSync(dataDir, { mode: 0o700 })
  if (keysFrom !== undefined) for (const file of ['signing-key', 'lookup-secret']) copyFileSync(join(keysFrom.dataDir, file), join(dataDir, file))
  // --trust-proxy: each request below says which address it comes from (the per-network limits).
  const proc = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--database', database, '--trust-proxy', ...CHEAP])
  const url = (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  const publicKey = (await proc.waitForLine(/^public key: ([A-Za-z0-9_-]{43})/))[1] as string
  return { proc, url, publicKey, dataDir }
}

async function twoInstances (): Promise<[Instance, Instance, string]> {
  const database = await postgres.createDatabase()
  const first = await startInstance(database)
  return [first, await startInstance(database, first), database]
}

let address = 0
/** A request from an address of its own (its own /24): only the limit under test is met. */
async function call (base: string, method: string, path: string, body?: unknown, token?: string, from = `10.${(++address >> 8) & 255}.${address & 255}.1`): Promise<{ status: number, body: any }> {
  const headers: Record<string, string> = { 'x-forwarded-for': from }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

const deviceKey = (): string => toBase64url(sodium.crypto_sign_keypair().publicKey)
const signUp = async (base: string, username: string): Promise<number> => (await call(base, 'POST', '/v1/accounts', { username, password: PASSWORD })).status
async function logIn (base: string, username: string, password = PASSWORD): Promise<{ status: number, body: any }> {
  return await call(base, 'POST', '/v1/sessions', { username, password, deviceKey: deviceKey() })
}

describe.skipIf(skip !== undefined)('two login server instances on one PostgreSQL database', () => {
  it('an account made on one logs in on the other, under the one signing key both hold; an instance with other keys is refused', async () => {
    const [a, b, database] = await twoInstances()
    expect(b.publicKey).toBe(a.publicKey)
    expect(await signUp(a.url, 'alice')).toBe(201)
    const session = await logIn(b.url, 'alice')
    expect(session.status).toBe(201)
    const check = verifyCertificate(sodium, session.body.certificate, { issuerKey: fromBase64url(a.publicKey) as Uint8Array, nowSeconds: Math.floor(Date.now() / 1000) })
    expect(check.ok && check.body.user).toBe('alice')

    // A third instance with keys of its own (its data dir is new) would sign what no node trusts.
    const other = await runCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'stranger'), '--database', database, ...CHEAP])
    expect(other.code).toBe(1)
    expect(other.stderr).toContain(`this database belongs to the login server with public key ${a.publicKey}`)
  }, 60_000)

  it('the operator\'s commands work on the database: a service made and a credit added with --database serve on both instances', async () => {
    const [a, b, database] = await twoInstances()
    expect(await signUp(a.url, 'alice')).toBe(201)
    const added = await runCli(['login-server', 'add-service', 'pstn', '--data-dir', join(dir, 'operator'), '--database', database])
    expect(added.code, added.stderr).toBe(0)
    const serviceToken = added.stdout.trim()
    // The URL from the environment, as the README advises (it may hold a password).
    const credited = await runCli(['login-server', 'credit', 'alice', '500', '--data-dir', join(dir, 'operator')], { VOXMESH_DATABASE_URL: database })
    expect(credited.code, credited.stderr).toBe(0)
    expect(credited.stdout).toContain('balance')
    const service = await call(b.url, 'POST', '/v1/services/sessions', { deviceKey: deviceKey() }, serviceToken)
    expect(service.status).toBe(201)
    const alice = (await logIn(a.url, 'alice')).body.token as string
    expect((await call(b.url, 'GET', '/v1/credit', undefined, alice)).body.balance).toBe(500)
  }, 60_000)

  it('50 parallel creations of one name, across both, give exactly one account', async () => {
    const [a, b] = await twoInstances()
    const statuses = await Promise.all(Array.from({ length: 50 }, async (_, i) => await signUp(i % 2 === 0 ? a.url : b.url, 'sameName')))
    expect(statuses.filter(s => s === 201)).toHaveLength(1)
    expect(statuses.filter(s => s === 409)).toHaveLength(49)
    expect((await logIn(a.url, 'samename')).status).toBe(201)
  }, 60_000)

  it('a contact request made on one and accepted on the other shows on both', async () => {
    const [a, b] = await twoInstances()
    for (const user of ['alice', 'bob']) expect(await signUp(a.url, user)).toBe(201)
    const alice = (await logIn(a.url, 'alice')).body.token as string
    const bob = (await logIn(b.url, 'bob')).body.token as string
    expect((await call(a.url, 'POST', '/v1/contacts/requests', { to: 'bob', message: 'hi' }, alice)).status).toBe(201)
    const incoming = (await call(b.url, 'GET', '/v1/contacts/requests', undefined, bob)).body.incoming as Array<{ id: number, from: string }>
    expect(incoming.map(r => r.from)).toEqual(['alice'])
    expect((await call(b.url, 'POST', `/v1/contacts/requests/${incoming[0]?.id}/accept`, undefined, bob)).status).toBeLessThan(300)
    const contactsOf = async (base: string, token: string): Promise<string[]> =>
      ((await call(base, 'GET', '/v1/contacts', undefined, token)).body.contacts as Array<{ username: string }>).map(c => c.username)
    expect(await contactsOf(a.url, alice)).toEqual(['bob'])
    expect(await contactsOf(b.url, alice)).toEqual(['bob'])
    expect(await contactsOf(a.url, bob)).toEqual(['alice'])
  }, 60_000)

  it('failed logins of one user are limited across both: ten wrong passwords in all, then 429 on either', async () => {
    const [a, b] = await twoInstances()
    expect(await signUp(a.url, 'carol')).toBe(201)
    // Alternating instances, each attempt from its own network: only the per-username limit (10 per 5 min) counts.
    const statuses: number[] = []
    for (let i = 0; i < 14; i++) statuses.push((await logIn(i % 2 === 0 ? a.url : b.url, 'carol', 'wrong password!')).status)
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401))
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429])
  }, 60_000)

  it('SIGKILL of one instance mid-burst loses no acknowledged write: every 201 is an account the other instance logs in', async () => {
    const [a, b, database] = await twoInstances()
    const acknowledged: string[] = []
    const burst = Array.from({ length: 200 }, async (_, i) => {
      try {
        if (await signUp(a.url, `burst${i}`) === 201) acknowledged.push(`burst${i}`)
      } catch {} // the connection died with the instance: not acknowledged
    })
    // Kill once some writes are acknowledged and others still run.
    while (acknowledged.length < 20) await new Promise(resolve => setTimeout(resolve, 5))
    await a.proc.stop('SIGKILL')
    await Promise.all(burst)
    expect(acknowledged.length).toBeLessThan(200)
    const client = new pg.Client(database)
    await client.connect()
    try {
      const stored = new Set((await client.query<{ username: string }>('SELECT username FROM accounts')).rows.map(row => row.username))
      expect(acknowledged.filter(name => !stored.has(name))).toEqual([])
    } finally {
      await client.end()
    }
    for (const name of acknowledged.slice(0, 5)) expect((await logIn(b.url, name)).status).toBe(201)
  }, 60_000)
})

describe.skipIf(skip !== undefined)('a voxmesh network whose nodes log in through either instance', () => {
  it('supernodes and hosts on different instances see each other online and deliver a message', async () => {
    const net = await startVoxmeshNet({ database: await postgres.createDatabase(), instances: 2 })
    try {
      for (const user of ['super1', 'super2', 'alice', 'bob']) await net.createAccount(user)
      await makeContacts(net.url, TEST_PASSWORD, [['alice', 'bob']])
      const through = (i: number): string[] => ['--login-server', net.urls[i % 2] as string]
      // Each supernode heartbeats (and is dialed back by) its own instance; the list is the database's.
      await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, ...through(0)])
      await net.startNode('super2', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, ...through(1)])
      const alice = await net.startNode('alice', ['--role', 'host', '--no-shell', ...through(0)])
      const bob = await net.startNode('bob', ['--role', 'host', '--no-shell', ...through(1)])
      await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online', 30_000)
      await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'online', 30_000)
      const sent = await alice.cli('msg', 'bob', 'through two login servers')
      expect(sent.code, sent.stderr).toBe(0)
      const received = await bob.waitForEvent(e => e.event === 'message' && e.from === 'alice', 15_000)
      expect(received.text).toBe('through two login servers')
    } finally {
      await killAll()
      net.cleanup()
    }
  }, 120_000)
})

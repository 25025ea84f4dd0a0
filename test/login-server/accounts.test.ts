// POST /v1/accounts: username rules, password rules, and that a refused
// request stores nothing.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { CHEAP_ARGON2, PASSWORD, createTestLoginServer, newDevice, type TestLoginServer } from '../helpers/login-server.js'

let server: TestLoginServer | undefined

beforeEach(async () => {
  server = await createTestLoginServer()
})

afterEach(async () => {
  const s = server
  server = undefined
  await s?.close()
})

function current (): TestLoginServer {
  if (server === undefined) throw new Error('no test server')
  return server
}

async function createAccount (username: unknown, password: unknown = PASSWORD): Promise<LightMyRequestResponse> {
  return await current().app.inject({ method: 'POST', url: '/v1/accounts', payload: { username, password } })
}

async function login (username: string, password: string): Promise<LightMyRequestResponse> {
  const { deviceKey } = newDevice(current().sodium)
  return await current().app.inject({ method: 'POST', url: '/v1/sessions', payload: { username, password, deviceKey } })
}

function expectError (res: LightMyRequestResponse, status: number, code: string): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({ status, body: { error: { code, message: expect.any(String) } } })
}

/** Rows in the accounts table, read through a second connection to the server's SQLite file. */
function accountRows (): Array<{ username: string, password_hash: string }> {
  const db = new Database(join(current().dataDir, 'login.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT username, password_hash FROM accounts ORDER BY username').all() as Array<{ username: string, password_hash: string }>
  } finally {
    db.close()
  }
}

describe('creating an account', () => {
  it('answers 201 with the name in lower case and stores it lower-cased', async () => {
    const res = await createAccount('Alice')
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({ username: 'alice' })
    const account = await current().store.getAccount('alice')
    expect(account?.username).toBe('alice')
    expect(await current().store.getAccount('Alice')).toBeUndefined()
    expect(accountRows().map(row => row.username)).toEqual(['alice'])
  })

  it('accepts names of exactly 3 and 32 characters from the whole allowed alphabet', async () => {
    const names = ['a.b', 'x_-', '0123456789abcdefghijklmnopqrstuv', 'Z9.Q_r-s']
    for (const name of names) {
      const res = await createAccount(name)
      expect(res.statusCode, name).toBe(201)
      expect(res.json()).toEqual({ username: name.toLowerCase() })
    }
    expect(accountRows().map(row => row.username).sort()).toEqual(names.map(name => name.toLowerCase()).sort())
  })

  it('refuses a taken name with 409 username_taken, also in another case, and keeps the first password', async () => {
    expect((await createAccount('alice')).statusCode).toBe(201)
    const before = await current().store.getAccount('alice')

    expectError(await createAccount('alice', 'another password'), 409, 'username_taken')
    expectError(await createAccount('ALICE', 'another password'), 409, 'username_taken')
    expectError(await createAccount('aLiCe', 'another password'), 409, 'username_taken')

    expect(await current().store.getAccount('alice')).toEqual(before)
    expect(accountRows()).toHaveLength(1)
    expect((await login('alice', PASSWORD)).statusCode).toBe(201)
    expectError(await login('alice', 'another password'), 401, 'invalid_credentials')
  })

  it('logs a name created in mixed case in under any case', async () => {
    expect((await createAccount('MiXeD')).statusCode).toBe(201)
    for (const name of ['mixed', 'MIXED', 'MiXeD']) {
      expect((await login(name, PASSWORD)).statusCode, name).toBe(201)
    }
  })
})

describe('invalid usernames', () => {
  const cases: Array<[string, string]> = [
    ['too short', 'ab'],
    ['too long (33 characters)', 'a'.repeat(33)],
    ['a space inside', 'al ice'],
    ['a leading space', ' alice'],
    ['a trailing newline', 'alice\n'],
    ['a slash', 'a/b'],
    ['a non-ASCII letter', 'ålice'],
    ['the Kelvin sign, which toLowerCase() maps to ASCII "k"', '\u212Aelvin'],
    ['a zero-width joiner inside', 'al\u200Dice'],
    ['fullwidth letters', 'ａｌｉｃｅ'],
    ['SQL', "x' OR '1'='1"],
    ['an @', 'alice@example.com']
  ]

  it.each(cases)('refuses %s with 400 invalid_username and stores nothing', async (_label, username) => {
    expectError(await createAccount(username), 400, 'invalid_username')
    expect(await current().store.getAccount(username)).toBeUndefined()
    expect(await current().store.getAccount(username.toLowerCase())).toBeUndefined()
    expect(accountRows()).toEqual([])
  })

  it('does not let the Kelvin-sign look-alike take "kelvin"', async () => {
    expect('\u212Aelvin'.toLowerCase()).toBe('kelvin')
    expectError(await createAccount('\u212Aelvin'), 400, 'invalid_username')
    expect(await current().store.getAccount('kelvin')).toBeUndefined()
    const res = await createAccount('kelvin')
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({ username: 'kelvin' })
  })

  it('leaves the accounts table intact after the SQL-looking name', async () => {
    expect((await createAccount('bobby')).statusCode).toBe(201)
    expectError(await createAccount("x'; DROP TABLE accounts; --"), 400, 'invalid_username')
    expectError(await createAccount("x' OR '1'='1"), 400, 'invalid_username')
    expect(accountRows().map(row => row.username)).toEqual(['bobby'])
    expect((await createAccount('tables')).statusCode).toBe(201)
  })
})

describe('passwords', () => {
  /** After a refusal: nothing stored, and the same name can then be created with a good password. */
  async function expectRefusedThenCreatable (username: string, password: string, status: number, code: string): Promise<void> {
    expectError(await createAccount(username, password), status, code)
    expect(await current().store.getAccount(username)).toBeUndefined()
    expect(accountRows()).toEqual([])
    const res = await createAccount(username, PASSWORD)
    expect(res.statusCode).toBe(201)
    expect((await login(username, PASSWORD)).statusCode).toBe(201)
  }

  it('refuses 7 characters with 400 weak_password', async () => {
    await expectRefusedThenCreatable('short', '1234567', 400, 'weak_password')
  })

  it('counts code points, not UTF-16 units: 4 emoji (8 units) are too short', async () => {
    const password = '🔑🔐🗝🔒'
    expect(password.length).toBe(8)
    await expectRefusedThenCreatable('emoji', password, 400, 'weak_password')
  })

  it.each([
    ['8 two-byte letters', 'äöüßéèêë'],
    ['8 four-byte emoji', '🔑'.repeat(8)],
    ['8 CJK characters', '密码密码密码密码']
  ])('accepts %s (8 code points) and logs in with them', async (_label, password) => {
    expect([...password]).toHaveLength(8)
    expect(Buffer.byteLength(password)).toBeGreaterThan(8)
    const res = await createAccount('multibyte', password)
    expect(res.statusCode).toBe(201)
    expect((await login('multibyte', password)).statusCode).toBe(201)
    expectError(await login('multibyte', password.slice(0, -2)), 401, 'invalid_credentials')
  })

  it('compares passwords in NFC: a decomposed password logs in with its composed form', async () => {
    const decomposed = 'e\u0301'.repeat(8)
    const composed = '\u00e9'.repeat(8)
    expect(decomposed).not.toBe(composed)
    expect((await createAccount('accents', decomposed)).statusCode).toBe(201)
    expect((await login('accents', composed)).statusCode).toBe(201)
    expect((await login('accents', decomposed)).statusCode).toBe(201)
  })

  it.each([
    ['NUL', 'password\u0000x'],
    ['tab', 'pass\tword123'],
    ['newline', 'password123\n'],
    ['carriage return', 'password\r123'],
    ['escape', 'pass\u001b[0mword'],
    ['DEL', 'password\u007f123'],
    ['C1 NEL (U+0085)', 'password\u0085123'],
    ['C1 CSI (U+009B)', 'password\u009b123']
  ])('refuses a control character (%s) with 400 weak_password', async (_label, password) => {
    await expectRefusedThenCreatable('controls', password, 400, 'weak_password')
  })

  it('refuses 1025 ASCII characters with 400 invalid_request (the schema bound, 1024 characters)', async () => {
    await expectRefusedThenCreatable('longascii', 'x'.repeat(1025), 400, 'invalid_request')
  })

  it('refuses 513 two-byte characters (1026 bytes, under 1024 characters) with 400 weak_password', async () => {
    const password = 'é'.repeat(513)
    expect(Buffer.byteLength(password)).toBe(1026)
    await expectRefusedThenCreatable('longbytes', password, 400, 'weak_password')
  })

  it('refuses 300 four-byte emoji (1200 bytes) with 400 weak_password', async () => {
    await expectRefusedThenCreatable('longemoji', '🔑'.repeat(300), 400, 'weak_password')
  })

  it('accepts exactly 1024 bytes, ASCII and two-byte', async () => {
    const ascii = 'y'.repeat(1024)
    const twoByte = 'é'.repeat(512)
    expect(Buffer.byteLength(twoByte)).toBe(1024)
    expect((await createAccount('maxascii', ascii)).statusCode).toBe(201)
    expect((await createAccount('maxbytes', twoByte)).statusCode).toBe(201)
    expect((await login('maxascii', ascii)).statusCode).toBe(201)
    expect((await login('maxbytes', twoByte)).statusCode).toBe(201)
  })
})

describe('password storage', () => {
  it('stores an argon2id hash at the configured cost, never the password', async () => {
    expect((await createAccount('alice')).statusCode).toBe(201)
    const account = await current().store.getAccount('alice')
    const hash = account?.passwordHash as string
    expect(hash.startsWith('$argon2id$')).toBe(true)
    expect(hash).toContain(`m=${CHEAP_ARGON2.memoryKib},t=${CHEAP_ARGON2.ops}`)
    expect(hash).not.toContain(PASSWORD)
    expect(hash).not.toContain(Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''))
    const [row] = accountRows()
    expect(row).toEqual({ username: 'alice', password_hash: hash })
  })

  it('salts: the same password gives two different hashes', async () => {
    expect((await createAccount('alice')).statusCode).toBe(201)
    expect((await createAccount('bob')).statusCode).toBe(201)
    const a = (await current().store.getAccount('alice'))?.passwordHash
    const b = (await current().store.getAccount('bob'))?.passwordHash
    expect(a?.startsWith('$argon2id$')).toBe(true)
    expect(b?.startsWith('$argon2id$')).toBe(true)
    expect(a).not.toBe(b)
  })
})

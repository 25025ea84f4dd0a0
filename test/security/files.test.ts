// Files on disk: the node's pin of the login server key, the modes of secret and
// database files, and the login server's database after a SIGKILL mid-write.
// Real processes throughout.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { killAll, runCli, startCli } from '../helpers/processes.js'
import { startVoxmeshNet, TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { LoopbackClient } from '../helpers/http-from.js'
import { loadSodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'

const cleanups: Array<() => void> = []

afterEach(async () => {
  await killAll()
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

function tempDir (prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

const modeOf = (file: string): string => (statSync(file).mode & 0o777).toString(8).padStart(3, '0')

/** A voxmesh network with one account, "alice", whose node data dir is returned (not yet used). */
async function netWithAlice (): Promise<Awaited<ReturnType<typeof startVoxmeshNet>> & { dataDir: string }> {
  const net = await startVoxmeshNet()
  cleanups.push(net.cleanup)
  await net.createAccount('alice')
  return { ...net, dataDir: join(net.root, 'alice') }
}

describe('the login server pin file', () => {
  it.each([
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['empty', () => ''],
    ['JSON of another shape', () => JSON.stringify({ url: 'http://127.0.0.1:1' })]
  ])('a login-server.json that is %s stops the node with an error naming the file, and is not re-pinned', async (_kind, damage) => {
    const net = await netWithAlice()
    // A first run pins the real server's key.
    const first = await net.startNode('alice')
    await first.proc.stop()
    const pinFile = join(net.dataDir, 'login-server.json')
    const pinned = JSON.parse(readFileSync(pinFile, 'utf8')) as { publicKey: string }
    expect(pinned.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const damaged = damage(readFileSync(pinFile, 'utf8'))
    writeFileSync(pinFile, damaged)
    const again = await runCli(['node', '--user', 'alice', '--login-server', net.url, '--data-dir', net.dataDir, '--json'], { VOXMESH_PASSWORD: TEST_PASSWORD })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`voxmesh: the login server pin file ${pinFile} is corrupt or truncated`)
    expect(again.stderr).not.toMatch(/\n\s+at /) // a sentence, not a stack
    expect(readFileSync(pinFile, 'utf8')).toBe(damaged)
  }, 60_000)
})

describe('file modes', () => {
  /** Runs `action` with the umask at 000 (children inherit it), then restores it. */
  async function withOpenUmask<T> (action: () => Promise<T>): Promise<T> {
    const previous = process.umask(0)
    try {
      return await action()
    } finally {
      process.umask(previous)
    }
  }

  it('the login server creates its signing key and login.sqlite (with -wal, -shm) 0600 under umask 000 in a 0777 folder', async () => {
    const dataDir = join(tempDir('voxmesh-modes-'), 'login')
    mkdirSync(dataDir)
    chmodSync(dataDir, 0o777)
    const server = await withOpenUmask(async () => {
      const proc = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn'])
      await proc.waitForLine(/listening on/)
      return proc
    })
    const url = (/listening on (http:\/\/\S+)/.exec(server.stdoutLines.join('\n')) as RegExpExecArray)[1] as string
    // A write, so the WAL and shared-memory files exist.
    const client = new LoopbackClient(url)
    cleanups.push(() => { client.close() })
    expect((await client.post('/v1/accounts', { username: 'alice', password: TEST_PASSWORD })).status).toBe(201)

    const files = ['signing-key', 'login.sqlite', 'login.sqlite-wal', 'login.sqlite-shm']
    for (const file of files) expect(existsSync(join(dataDir, file)), file).toBe(true)
    expect(Object.fromEntries(files.map(file => [file, modeOf(join(dataDir, file))])))
      .toEqual(Object.fromEntries(files.map(file => [file, '600'])))
  }, 60_000)

  it('a node creates its device key, login-server.json and control.json 0600 under umask 000 in a 0777 folder', async () => {
    const net = await netWithAlice()
    mkdirSync(net.dataDir)
    chmodSync(net.dataDir, 0o777)
    const node = await withOpenUmask(async () => await net.startNode('alice'))
    const files = ['device-key', 'login-server.json', 'control.json']
    expect(Object.fromEntries(files.map(file => [file, modeOf(join(net.dataDir, file))])))
      .toEqual(Object.fromEntries(files.map(file => [file, '600'])))
    await node.proc.stop()
  }, 60_000)
})

describe('SIGKILL of the login server mid-write', () => {
  it('leaves a database that opens, passes its integrity check and holds only whole rows, every acknowledged account among them', async () => {
    const dataDir = join(tempDir('voxmesh-kill-'), 'login')
    const server = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn'])
    const url = (await server.waitForLine(/listening on (http:\/\/\S+)/))[1] as string

    // A burst of account creations and logins from 20 networks (10 accounts an
    // hour each), killed while it is in full swing.
    const sodium = await loadSodium()
    const deviceKey = toBase64url(sodium.crypto_sign_keypair().publicKey)
    const acknowledged: string[] = []
    let stop = false
    const clients = Array.from({ length: 20 }, (_, i) => new LoopbackClient(url, `127.60.${i}.1`))
    cleanups.push(() => { for (const client of clients) client.close() })
    const burst = Promise.all(clients.map(async (client, i) => {
      for (let n = 0; n < 10 && !stop; n++) {
        const username = `user${i}n${n}`
        try {
          const created = await client.post('/v1/accounts', { username, password: TEST_PASSWORD })
          if (created.status === 201) acknowledged.push(username)
          await client.post('/v1/sessions', { username, password: TEST_PASSWORD, deviceKey })
        } catch {
          return // the server is gone
        }
      }
    }))
    while (acknowledged.length < 40) await new Promise(resolve => setTimeout(resolve, 5))
    server.child.kill('SIGKILL')
    stop = true
    await burst
    expect(acknowledged.length).toBeLessThan(200) // it really was mid-burst

    const db = new Database(join(dataDir, 'login.sqlite'))
    cleanups.push(() => { if (db.open) db.close() })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const accounts = db.prepare<[], { username: string, password_hash: string, created_at: number }>('SELECT * FROM accounts').all()
    for (const row of accounts) {
      expect(row.username).toMatch(/^user\d+n\d+$/)
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/)
      expect(row.created_at).toBeGreaterThan(0)
    }
    expect(accounts.map(row => row.username)).toEqual(expect.arrayContaining(acknowledged))
    const sessions = db.prepare<[], { token_hash: Uint8Array, username: string, device_key: string }>('SELECT * FROM sessions').all()
    for (const row of sessions) {
      expect(row.token_hash).toHaveLength(32)
      expect(row.device_key).toBe(deviceKey)
    }
    expect(db.prepare('SELECT count(*) AS n FROM sessions WHERE username NOT IN (SELECT username FROM accounts)').get()).toEqual({ n: 0 })
    db.close()

    // And the server starts again on it.
    const restarted = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn'])
    const again = new LoopbackClient((await restarted.waitForLine(/listening on (http:\/\/\S+)/))[1] as string)
    cleanups.push(() => { again.close() })
    expect((await again.post('/v1/accounts', { username: acknowledged[0], password: TEST_PASSWORD })).status).toBe(409)
  }, 60_000)
})

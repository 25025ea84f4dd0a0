// The login server and `voxmesh account create` as real processes on loopback.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAll, runCli, startCli } from '../helpers/processes.js'
import { loadSodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'
import { LoginClient } from '../../common/login-client.js'
import { verifyCertificate } from '../../common/certificate.js'
import { fromBase64url } from '../../common/base64url.js'
import { freePort } from '../helpers/ports.js'

// Cheap argon2id so process tests stay quick; the cost itself is covered by the benchmark.
const CHEAP = ['--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn']
let dir: string

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'voxmesh-cli-')) })
afterEach(async () => {
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

async function startServer (dataDir = join(dir, 'login')) {
  const proc = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...CHEAP])
  const url = (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  const publicKey = (await proc.waitForLine(/^public key: ([A-Za-z0-9_-]{43})/))[1] as string
  return { proc, url, publicKey }
}

describe('voxmesh login-server', () => {
  it('creates its signing key once (mode 0600) and keeps accounts across a restart', async () => {
    const first = await startServer()
    expect(statSync(join(dir, 'login', 'signing-key')).mode & 0o777).toBe(0o600)
    expect(first.proc.stdoutLines.join('\n')).toContain('new signing key created')

    const created = await runCli(['account', 'create', 'Alice', '--login-server', first.url], { VOXMESH_PASSWORD: 'correct horse battery' })
    expect(created.stdout).toContain('account "alice" created')
    expect(created.code).toBe(0)
    expect(await first.proc.stop('SIGTERM')).toBe(0)

    const second = await startServer()
    expect(second.publicKey).toBe(first.publicKey)
    expect(second.proc.stdoutLines.join('\n')).not.toContain('new signing key created')
    const sodium = await loadSodium()
    const session = await new LoginClient(second.url).createSession('alice', 'correct horse battery', toBase64url(sodium.crypto_sign_keypair().publicKey))
    const check = verifyCertificate(sodium, session.certificate, { issuerKey: fromBase64url(first.publicKey) as Uint8Array, nowSeconds: Math.floor(Date.now() / 1000) })
    expect(check.ok && check.body.user).toBe('alice')
  })

  it('documents every option in --help', async () => {
    const help = await runCli(['login-server', '--help'])
    expect(help.code).toBe(0)
    for (const option of ['--listen', '--data-dir', '--database', '--certificate-ttl', '--argon2-ops', '--argon2-memory', '--trust-proxy', '--log-level', '--help']) {
      expect(help.stdout).toContain(option)
    }
    expect(help.stdout).toContain('127.0.0.1:7700')
  })

  it('refuses a bad --listen with a clear message', async () => {
    const result = await runCli(['login-server', '--listen', 'localhost'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('expected HOST:PORT')
  })

  it('refuses to start when the port is taken, saying so', async () => {
    const first = await startServer()
    const port = new URL(first.url).port
    const second = await runCli(['login-server', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'other'), ...CHEAP])
    expect(second.code).toBe(1)
    expect(second.stderr).toContain('the port is in use (EADDRINUSE)')
    expect(second.stderr).not.toContain('    at ')
  })
})

describe('voxmesh login-server add-service / credit', () => {
  it('makes a service whose token, alone on stdout, logs it in; adds credit a user then sees; says what is wrong otherwise', async () => {
    const server = await startServer()
    const dataDir = join(dir, 'login')
    const added = await runCli(['login-server', 'add-service', 'pstn', '--data-dir', dataDir])
    expect(added.code).toBe(0)
    expect(added.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/)
    const token = added.stdout.trim()
    const sodium = await loadSodium()
    const login = await fetch(`${server.url}/v1/services/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey) })
    })
    expect(login.status).toBe(201)
    const again = await runCli(['login-server', 'add-service', 'pstn', '--data-dir', dataDir])
    expect({ code: again.code, stdout: again.stdout, stderr: again.stderr.trim() }).toEqual({ code: 1, stdout: '', stderr: 'voxmesh: the name "pstn" is taken (an account or a service has it already)' })

    await runCli(['account', 'create', 'alice', '--login-server', server.url], { VOXMESH_PASSWORD: 'correct horse battery' })
    const credited = await runCli(['login-server', 'credit', 'alice', '500', '--data-dir', dataDir])
    expect({ code: credited.code, stdout: credited.stdout.trim() }).toEqual({ code: 0, stdout: 'added 5.00 EUR to alice; balance 5.00 EUR' })
    const session = await new LoginClient(server.url).createSession('alice', 'correct horse battery', toBase64url(sodium.crypto_sign_keypair().publicKey))
    const balance = await fetch(`${server.url}/v1/credit`, { headers: { authorization: `Bearer ${session.token}` } })
    expect(await balance.json()).toEqual({ balance: 500, currency: 'EUR' })

    const nobody = await runCli(['login-server', 'credit', 'nobody', '500', '--data-dir', dataDir])
    expect({ code: nobody.code, stderr: nobody.stderr.trim() }).toEqual({ code: 1, stderr: 'voxmesh: there is no user "nobody"' })
    const badAmount = await runCli(['login-server', 'credit', 'alice', '5.00', '--data-dir', dataDir])
    expect(badAmount.code).not.toBe(0)
    expect(badAmount.stderr).toContain('expected a whole number of cents')
    const noDir = await runCli(['login-server', 'credit', 'alice', '5', '--data-dir', join(dir, 'missing')])
    expect(noDir.stderr).toContain('no login server database in')
  })
})

describe('voxmesh account create', () => {
  it('reads the password from a file and explains a taken name and a weak password', async () => {
    const { url } = await startServer()
    const file = join(dir, 'password')
    writeFileSync(file, 'correct horse battery\n')
    const ok = await runCli(['account', 'create', 'bob', '--login-server', url, '--password-file', file])
    expect(ok.code).toBe(0)
    const taken = await runCli(['account', 'create', 'BOB', '--login-server', url, '--password-file', file])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('the username "bob" is taken')
    const weak = await runCli(['account', 'create', 'carol', '--login-server', url], { VOXMESH_PASSWORD: 'short' })
    expect(weak.code).toBe(1)
    expect(weak.stderr).toContain('at least 8 characters')
    // The password logs in: the file's trailing newline was not part of it.
    const sodium = await loadSodium()
    await expect(new LoginClient(url).createSession('bob', 'correct horse battery', toBase64url(sodium.crypto_sign_keypair().publicKey))).resolves.toHaveProperty('token')
  })

  it('says when the login server is unreachable', async () => {
    const port = await freePort()
    const result = await runCli(['account', 'create', 'dave', '--login-server', `http://127.0.0.1:${port}`], { VOXMESH_PASSWORD: 'correct horse battery' })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`cannot reach the login server at http://127.0.0.1:${port}`)
    expect(result.stderr).not.toContain('    at ') // no stack trace for people
  })

  it('never takes a password from nowhere and rejects bad names before asking', async () => {
    const noPassword = await runCli(['account', 'create', 'erin'], { VOXMESH_PASSWORD: '' })
    expect(noPassword.code).toBe(1)
    expect(noPassword.stderr).toContain('--password-file')
    const badName = await runCli(['account', 'create', 'no spaces please'], { VOXMESH_PASSWORD: 'correct horse battery' })
    expect(badName.code).toBe(1)
    expect(badName.stderr).toContain('is not a valid username')
  })
})

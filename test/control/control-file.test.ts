// control.json: written 0600, read back, and a clear message when no node runs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UserError } from '../../common/user-error.js'
import { controlFilePath, newControlToken, readControlFile, removeControlFile, writeControlFile } from '../../node/control/control-file.js'

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'voxmesh-control-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

/** The pid of a process that has exited. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise(resolve => child.once('exit', resolve))
  return child.pid as number
}

describe('control.json', () => {
  it('is written with mode 0600 (in a data dir it creates) and read back', () => {
    const dataDir = join(dir, 'node')
    const info = { url: 'http://127.0.0.1:4567', token: newControlToken(), pid: process.pid }
    writeControlFile(dataDir, info)
    expect(statSync(join(dataDir, 'control.json')).mode & 0o777).toBe(0o600)
    expect(readControlFile(dataDir)).toEqual(info)
    expect(JSON.parse(readFileSync(controlFilePath(dataDir), 'utf8'))).toEqual(info)
  })

  it('stays 0600 when it replaces a file that was readable by others', () => {
    writeFileSync(join(dir, 'control.json'), '{}', { mode: 0o644 })
    chmodSync(join(dir, 'control.json'), 0o644)
    writeControlFile(dir, { url: 'http://127.0.0.1:1', token: newControlToken(), pid: process.pid })
    expect(statSync(join(dir, 'control.json')).mode & 0o777).toBe(0o600)
  })

  it('says no node is running, and how to start one, when the file is missing', () => {
    expect(() => readControlFile(dir)).toThrow(UserError)
    expect(() => readControlFile(dir)).toThrow(`no node is running for data dir ${dir} (start one with: voxmesh node --user NAME --data-dir ${dir})`)
    expect(() => readControlFile(join(dir, 'missing'))).toThrow(/no node is running for data dir/)
  })

  it('says the same when the pid in it is no longer alive', async () => {
    writeControlFile(dir, { url: 'http://127.0.0.1:4567', token: newControlToken(), pid: await deadPid() })
    expect(() => readControlFile(dir)).toThrow(`no node is running for data dir ${dir}`)
  })

  it('refuses a malformed file with a UserError naming it', () => {
    for (const text of ['not json', '{}', '{"url":"http://x","token":"t","pid":"12"}', '{"url":"ftp://x","token":"t","pid":1}', 'null']) {
      writeFileSync(join(dir, 'control.json'), text)
      expect(() => readControlFile(dir), text).toThrow(/is not a valid control file/)
    }
  })

  it('is removed only by the node that wrote it', () => {
    writeControlFile(dir, { url: 'http://127.0.0.1:1', token: newControlToken(), pid: process.pid })
    removeControlFile(dir, process.pid + 1)
    expect(existsSync(controlFilePath(dir))).toBe(true)
    removeControlFile(dir)
    expect(existsSync(controlFilePath(dir))).toBe(false)
    removeControlFile(dir) // nothing left: no error
  })
})

describe('newControlToken', () => {
  it('is 32 random bytes in base64url, different every time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newControlToken()))
    expect(tokens.size).toBe(50)
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    }
  })
})

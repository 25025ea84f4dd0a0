// The client subcommands as real processes (dist/, so `npm run build` first)
// against a control server in this process with the fake node behind it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killAll, runCli, startCli } from '../helpers/processes.js'
import { writeControlFile } from '../../node/control/control-file.js'
import { FakeNodeApi } from './fake-node-api.js'
import { TOKEN, closeAll, startFakeNode } from './helpers.js'
import { freePort } from '../helpers/ports.js'
import { waitUntil } from '../helpers/wait.js'

let dataDir: string
let api: FakeNodeApi

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-cli-control-'))
  const running = await startFakeNode()
  api = running.api
  writeControlFile(dataDir, { url: running.server.url, token: TOKEN, pid: process.pid })
  api.addFakeContact('bob', 'online')
  api.addFakeContact('carol', 'away')
})
afterEach(async () => {
  await killAll()
  await closeAll()
  rmSync(dataDir, { recursive: true, force: true })
})

const cli = async (...args: string[]) => await runCli([...args, '--data-dir', dataDir])

describe('voxmesh client subcommands', () => {
  it('contacts --json prints an array of {username, status}', async () => {
    const result = await cli('contacts', '--json')
    expect(result.code).toBe(0)
    const contacts = JSON.parse(result.stdout) as Array<{ username: string, status: string }>
    expect(Array.isArray(contacts)).toBe(true)
    expect(contacts.map(c => [c.username, c.status])).toEqual([['bob', 'online'], ['carol', 'away']])
  })

  it('contacts prints a table of names and statuses, with the status time and the date they became contacts', async () => {
    api.addFakeContact('bob', 'online', 1_700_000_000, Date.now())
    const result = await cli('contacts')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^bob\s+online since \d\d:\d\d\s+\(contact since 2023-11-1\d\)\ncarol\s+away\s+\(contact since 2023-11-1\d\)\n$/)
  })

  it('status --json names the user, role and supernode', async () => {
    const result = await cli('status', '--json')
    expect(result.code).toBe(0)
    const status = JSON.parse(result.stdout)
    expect(status).toMatchObject({ user: 'alice', role: 'host', supernode: { user: 'sn1', address: '127.0.0.1:7801' } })
  })

  it('status prints user, role, supernode, peers, hosts and uptime', async () => {
    const result = await cli('status')
    expect(result.code).toBe(0)
    for (const line of [/^user\s+alice$/m, /^role\s+host$/m, /^supernode\s+sn1@127\.0\.0\.1:7801$/m, /^peers\s+0$/m, /^hosts\s+0$/m, /^uptime\s+1h 02m$/m]) {
      expect(result.stdout).toMatch(line)
    }
  })

  it('msg delivers and reports the receipt time, joining the words', async () => {
    const result = await cli('msg', 'bob', 'hello', 'there')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('delivered to bob (12 ms)\n')
    expect(api.sent).toEqual([{ to: 'bob', text: 'hello there' }])
  })

  it('msg to an offline contact says "queued, NAME is offline" and exits 0', async () => {
    api.messageResults.set('dave', { status: 'queued', id: 'x', reason: 'offline' })
    const result = await cli('msg', 'dave', 'hi')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^queued, dave is offline: /)
    const json = await cli('msg', 'dave', 'hi', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ to: 'dave', status: 'queued', reason: 'offline' })
  })

  it('messages shows one conversation or the last message of each, in lines or as one JSON array', async () => {
    const at = Date.now()
    api.history.push(
      { id: '1', peer: 'bob', direction: 'out', text: 'hello', state: 'delivered', writtenAt: at, sentAt: at, deliveredAt: at },
      { id: '2', peer: 'carol', direction: 'in', text: 'hey', state: 'received', writtenAt: at, sentAt: at, deliveredAt: at },
      { id: '3', peer: 'bob', direction: 'in', text: 'hi alice', state: 'received', writtenAt: at, sentAt: at, deliveredAt: at })
    const one = await cli('messages', 'Bob')
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toMatch(/^\[\d\d:\d\d\] you to bob: hello \(delivered \d\d:\d\d\)\n\[\d\d:\d\d\] bob: hi alice\n$/)
    const all = await cli('messages', '--json')
    expect(all.code, all.stderr).toBe(0)
    expect((JSON.parse(all.stdout) as Array<{ id: string }>).map(m => m.id)).toEqual(['3', '2'])
    const limited = await cli('messages', 'bob', '--limit', '1', '--json')
    expect((JSON.parse(limited.stdout) as Array<{ id: string }>).map(m => m.id)).toEqual(['3'])
    expect(api.invocations).toContain('messages bob 1')
    const none = await cli('messages', 'dave')
    expect(none.stdout).toBe('no messages with dave yet\n')
  })

  it('contacts add/accept/remove/block/unblock change the node, options before or after the subcommand', async () => {
    api.addIncomingRequest('erin')
    const added = await cli('contacts', 'add', 'frank', 'it', 'is', 'alice')
    expect(added.stdout).toBe('contact request sent to frank\n')
    const accepted = await runCli(['contacts', '--data-dir', dataDir, 'accept', 'erin'])
    expect(accepted.stdout).toBe('erin is now your contact\n')
    const removed = await cli('contacts', 'remove', 'bob', '--json')
    expect(JSON.parse(removed.stdout)).toEqual({ username: 'bob', status: 'removed' })
    expect((await cli('contacts', 'block', 'mallory')).stdout).toBe('blocked mallory\n')
    expect((await cli('contacts', 'unblock', 'mallory')).stdout).toBe('unblocked mallory\n')
    expect(api.invocations.filter(c => c !== 'status')).toEqual([
      'addContact frank it is alice', 'acceptContact erin', 'removeContact bob', 'block mallory', 'unblock mallory'
    ])
  })

  it('presence sets a status and refuses one that cannot be set', async () => {
    const set = await cli('presence', 'busy')
    expect(set.code).toBe(0)
    expect(set.stdout).toBe('presence set to busy\n')
    expect(api.presence).toBe('busy')
    const refused = await cli('presence', 'offline')
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('expected one of online, away, busy, invisible')
    expect(api.presence).toBe('busy')
  })

  it('requests --json prints incoming and outgoing', async () => {
    api.addIncomingRequest('erin', 'hello')
    const result = await cli('requests', '--json')
    expect(result.code).toBe(0)
    const body = JSON.parse(result.stdout)
    expect(body.incoming[0]).toMatchObject({ from: 'erin', message: 'hello' })
    expect(body.outgoing).toEqual([])
  })

  it('prints the node\'s refusal as one line and exits 1', async () => {
    const result = await cli('contacts', 'remove', 'nobody')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('voxmesh: nobody is not your contact\n')
  })

  it('says how to start a node when none runs for the data dir', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'voxmesh-cli-empty-'))
    try {
      const result = await runCli(['contacts', '--json', '--data-dir', empty])
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(`voxmesh: no node is running for data dir ${empty} (start one with: voxmesh node --user NAME --data-dir ${empty})\n`)
      expect(result.stdout).toBe('')
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('says the node is not answering when its control port is closed', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    writeControlFile(dataDir, { url, token: TOKEN, pid: process.pid })
    const result = await cli('status')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`voxmesh: the node at ${url} is not answering (is \`voxmesh node\` still running?)\n`)
  })

  it('events prints each event as a sentence until Ctrl-C', async () => {
    const proc = startCli(['events', '--data-dir', dataDir])
    await waitUntil('the events command to subscribe', () => api.listenerCount === 1, 15_000)
    api.emit({ event: 'presence', user: 'bob', status: 'away' })
    api.emit({ event: 'receipt', from: 'bob', ref: 'm0' })
    api.emit({ event: 'message', from: 'bob', id: 'm1', text: 'hi', sentAt: Date.now(), writtenAt: Date.now() })
    await proc.waitForLine(/bob: hi/)
    expect(proc.stdoutLines).toEqual(['* bob is now away', expect.stringMatching(/^\[\d\d:\d\d\] bob: hi$/)])
    expect(await proc.stop('SIGINT')).toBe(0)
    await waitUntil('the server to unsubscribe', () => api.listenerCount === 0, 5000)
  })

  it('events --json prints each event as a JSON line until Ctrl-C', async () => {
    const proc = startCli(['events', '--json', '--data-dir', dataDir])
    await waitUntil('the events command to subscribe', () => api.listenerCount === 1, 15_000)
    api.emit({ event: 'presence', user: 'bob', status: 'away' })
    api.emit({ event: 'message', from: 'bob', id: 'm1', text: 'hi', sentAt: 5, writtenAt: 5 })
    await proc.waitForLine(/"event":"message"/)
    expect(proc.stdoutLines.map(line => JSON.parse(line))).toEqual([
      { event: 'presence', user: 'bob', status: 'away' },
      { event: 'message', from: 'bob', id: 'm1', text: 'hi', sentAt: 5, writtenAt: 5 }
    ])
    expect(await proc.stop('SIGINT')).toBe(0)
    await waitUntil('the server to unsubscribe', () => api.listenerCount === 0, 5000)
  })
})

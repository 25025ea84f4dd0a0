// Promotion of --role auto nodes, as real processes on loopback.
import { afterEach, describe, expect, it } from 'vitest'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { waitUntil } from '../helpers/wait.js'
import { startVoxmeshNet } from '../helpers/voxmesh-net.js'

// Thresholds any test machine passes; uptime short so tests stay quick.
const EASY = ['--promote-after', '2s', '--min-free-memory', '0', '--max-load-per-core', '1000']
let net: Awaited<ReturnType<typeof startVoxmeshNet>> | undefined

afterEach(async () => {
  await killAll()
  net?.cleanup()
  net = undefined
})

const logLines = (lines: string[]): string => lines.join('\n')

describe('promotion (--role auto)', () => {
  it('makes the first reachable node of an empty network the first supernode', async () => {
    net = await startVoxmeshNet()
    await net.createAccount('first')
    const first = await net.startNode('first', ['--role', 'auto', '--listen', `127.0.0.1:${await freePort()}`, ...EASY])
    const role = await first.waitForEvent(e => e.event === 'role')
    expect(role).toMatchObject({ role: 'supernode', reason: expect.stringContaining('first one') })
    await first.waitForEvent(e => e.event === 'attached')
    const status = JSON.parse((await first.cli('status', '--json')).stdout)
    expect(status).toMatchObject({ role: 'supernode', supernode: { user: 'first' } })
  })

  it('promotes a node whose advertised address answers once the thresholds pass and the mesh needs capacity', async () => {
    net = await startVoxmeshNet()
    for (const user of ['seed', 'climber']) await net.createAccount(user)
    // One supernode that wants at least two: the mesh needs capacity.
    await net.startNode('seed', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--min-supernodes', '2'])
    const climber = await net.startNode('climber', ['--role', 'auto', '--listen', `127.0.0.1:${await freePort()}`, ...EASY])
    await climber.waitForEvent(e => e.event === 'attached')
    const role = await climber.waitForEvent(e => e.event === 'role', 20_000)
    expect(role).toMatchObject({ role: 'supernode', reason: expect.stringContaining('needs capacity') })
    expect(logLines(climber.proc.stderrLines)).toMatch(/promotion check: up \d+ s, under the 2 s uptime threshold|now a supernode/)
    expect(JSON.parse((await climber.cli('status', '--json')).stdout)).toMatchObject({ role: 'supernode' })
  })

  it('never promotes a node that advertises an address where nothing answers, and logs that the dial-back failed', async () => {
    net = await startVoxmeshNet()
    for (const user of ['seed', 'hidden']) await net.createAccount(user)
    await net.startNode('seed', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--min-supernodes', '2'])
    const nowhere = `127.0.0.1:${await freePort()}`
    const hidden = await net.startNode('hidden', ['--role', 'auto', '--listen', `127.0.0.1:${await freePort()}`, '--advertise', nowhere, ...EASY])
    await hidden.waitForEvent(e => e.event === 'attached')
    // No throw on a timeout: the assertion below says what was missing.
    await waitUntil('the failed dial-back in the log', () => /dial-back to .* failed/.test(logLines(hidden.proc.stderrLines)), 15_000, 200).catch(() => {})
    expect(logLines(hidden.proc.stderrLines)).toContain(`not promoting: the dial-back to ${nowhere} failed`)
    expect(hidden.events().filter(e => e.event === 'role')).toEqual([])
    expect(JSON.parse((await hidden.cli('status', '--json')).stdout)).toMatchObject({ role: 'host' })
  })

  it('replaces a supernode killed while hosts need capacity by promoting a host', async () => {
    // Three supernodes on 127.0.0.1 (the killed one stays listed until its entry expires): the lab flag.
    net = await startVoxmeshNet({ loginServerArgs: ['--max-supernodes-per-address', '3'] })
    for (const user of ['sn1', 'sn2', 'standby']) await net.createAccount(user)
    const sn1 = await net.startNode('sn1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--min-supernodes', '2'])
    await net.startNode('sn2', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--min-supernodes', '2'])
    const standby = await net.startNode('standby', ['--role', 'auto', '--listen', `127.0.0.1:${await freePort()}`, ...EASY])
    await standby.waitForEvent(e => e.event === 'attached')
    // Two supernodes satisfy --min-supernodes 2: no promotion while both live.
    await new Promise(resolve => setTimeout(resolve, 6000))
    expect(standby.events().filter(e => e.event === 'role')).toEqual([])
    await sn1.proc.stop('SIGKILL')
    const role = await standby.waitForEvent(e => e.event === 'role', 30_000)
    expect(role).toMatchObject({ role: 'supernode' })
  })
})

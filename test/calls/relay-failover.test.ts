// A relayed call outlives the supernode whose TURN relay carried it, with real
// `voxmesh` processes on loopback: two supernodes (their relays on 127.0.0.2, so
// TURN permissions cannot be met from the hosts' own address), alice calls bob
// relay-only, each sending a tone of their own and recording the other's. Alice's
// supernode is killed with SIGKILL mid-call: alice re-homes to the other one, the
// call re-offers through its relay and recovers within 5 s, and after that each
// side hears the other's tone again. The recording of each side is one file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { readWavFile } from '../../node/media/audio/wav.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { killAll, startCli, type CliProcess } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, type NodeProcess, TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { makeContacts } from './attack-kit.js'

const ALICE_HZ = 440
const BOB_HZ = 660
/** The bound on a relayed call's recovery after its supernode died. */
const RECOVERY_BOUND_MS = 5000
/** How long the call runs after it recovered: the last stretch of each recording is checked. */
const AFTER_RECOVERY_S = 3

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let supernodes: NodeProcess[]
let alice: NodeProcess, bob: NodeProcess
let recordings: string

type Status = { supernode: { user: string } | null }
const statusOf = async (node: NodeProcess): Promise<Status> => {
  const result = await node.cli('status', '--json')
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Status
}

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'super2', 'alice', 'bob']) await net.createAccount(user)
  await makeContacts(net.url, TEST_PASSWORD, [['alice', 'bob']])
  recordings = join(net.root, 'recordings')
  mkdirSync(recordings)
  supernodes = []
  for (const user of ['super1', 'super2']) {
    supernodes.push(await net.startNode(user, ['--role', 'supernode', '--listen', `127.0.0.2:${await freePort()}`, '--relay-allow-private']))
  }
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell'])
  bob = await net.startNode('bob', ['--role', 'host', '--no-shell', '--auto-answer', '--tone', String(BOB_HZ), '--record-dir', recordings])
  for (const node of [alice, bob]) await node.waitForEvent(e => e.event === 'attached', 20_000)
  await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online', 20_000)
}, 90_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

/** The tone must stand out: Opus at 48 kHz keeps a sine's frequency within a few Hz. */
const MAX_HZ_OFF = 3
/** The last stretch of each recording is checked in quarter seconds (see `tail`). */
const TAIL_S = 1.5
const PIECE_S = 0.25

/**
 * The last `TAIL_S` of a recording, in `PIECE_S` pieces: each piece's dominant frequency, the
 * stretch's level, and the recording's length. The adaptive playout now and then skips or holds a
 * few ms (a phase jump in the tone): it moves the frequency of the piece it falls in by a few Hz, and
 * measured over the whole stretch, by up to 3 Hz in a slow run. Pieces keep a jump to one of them.
 */
function tail (path: string): { hz: number[], dbfs: number, length: number } {
  const wav = readWavFile(path)
  const piece = Math.round(PIECE_S * wav.sampleRate)
  const from = Math.max(0, wav.samples.length - Math.round(TAIL_S * wav.sampleRate))
  const hz: number[] = []
  for (let at = from; at + piece <= wav.samples.length; at += piece) hz.push(dominantFrequency(wav.samples.subarray(at, at + piece), wav.sampleRate))
  return { hz, dbfs: levelDbfs(wav.samples.subarray(from)), length: wav.samples.length / wav.sampleRate }
}

describe('a relayed call when the supernode of its relay dies', () => {
  it('recovers through the other supernode\'s relay within 5 s, and audio flows both ways after', async () => {
    const aliceRecording = join(net.root, 'alice-heard.wav')
    const call: CliProcess = startCli(['call', 'bob', '--tone', String(ALICE_HZ), '--relay-only', '--record', aliceRecording, '--json', '--data-dir', alice.dataDir])
    const connected = await alice.waitForEvent(e => e.event === 'call-connected', 20_000)
    expect(connected.path).toBe('relay')
    const callId = connected.callId as string
    await bob.waitForEvent(e => e.event === 'call-connected' && e.callId === callId, 20_000)
    // Let the tones run, then kill the supernode alice's relay (and her link) is on.
    await new Promise(resolve => setTimeout(resolve, 2000))
    const victimName = (await statusOf(alice)).supernode?.user
    const victim = supernodes.find(sn => sn.user === victimName) as NodeProcess
    expect(victim).toBeDefined()
    const marks = { alice: alice.events().length, bob: bob.events().length }
    const killedAt = performance.now()
    await victim.proc.stop('SIGKILL')

    const recovering = await alice.waitForEvent(e => e.event === 'call-recovering' && e.callId === callId, 10_000, marks.alice)
    expect(recovering.reason).toEqual(expect.any(String))
    const recovered = await alice.waitForEvent(e => e.event === 'call-recovered' && e.callId === callId, 20_000, marks.alice)
    expect(recovered.path).toBe('relay')
    // From the kill to alice's node saying the call is back (the event's arrival here), and by the node's own count.
    const recoveredAt = alice.proc.events.find(s => s.event.event === 'call-recovered' && s.event.callId === callId)?.at as number
    const sinceKillMs = Math.round(recoveredAt - killedAt)
    expect(sinceKillMs).toBeLessThan(RECOVERY_BOUND_MS)
    expect(recovered.recoveryMs as number).toBeLessThan(RECOVERY_BOUND_MS)
    await bob.waitForEvent(e => e.event === 'call-recovered' && e.callId === callId, 10_000, marks.bob)
    // Alice is on the other supernode now, and the call never ended.
    expect((await statusOf(alice)).supernode?.user).not.toBe(victimName)
    expect(alice.events().slice(marks.alice).some(e => e.event === 'call-ended')).toBe(false)
    process.stdout.write(`relay failover: call back ${sinceKillMs} ms after the kill (recoveryMs ${String(recovered.recoveryMs)})\n`)

    await new Promise(resolve => setTimeout(resolve, AFTER_RECOVERY_S * 1000))
    const hangup = await alice.cli('hangup', callId)
    expect(hangup.code, hangup.stderr).toBe(0)
    const ended = await bob.waitForEvent(e => e.event === 'call-ended' && e.callId === callId, 10_000)
    expect(ended.reason).toBe('hangup')
    await call.stop('SIGTERM', 5000)
    await alice.waitForEvent(e => e.event === 'call-ended' && e.callId === callId, 10_000)

    // One recording per side for the whole call; its last stretch is after the recovery.
    const bobRecording = ended.recording as string
    expect(readdirSync(recordings)).toEqual([`${callId}.wav`])
    for (const [path, hz] of [[aliceRecording, BOB_HZ], [bobRecording, ALICE_HZ]] as const) {
      const heard = tail(path)
      // One recording across the recovery: the 2 s before the kill and the 3 s after it are in it
      // (5.8 s in quiet runs). A second the node's event loop stood still drops its frames (the audio
      // clock skips rather than bursts), hence the second of slack; a recording restarted at the
      // recovery would hold ~3.3 s.
      expect(heard.length, path).toBeGreaterThan(1 + AFTER_RECOVERY_S)
      // Two pieces of the six may hold a skip or a hold; the other four hold the tone.
      expect(heard.hz.filter(h => Math.abs(h - hz) < MAX_HZ_OFF).length, `${path}: ${heard.hz.map(h => h.toFixed(1)).join(', ')} Hz`).toBeGreaterThanOrEqual(4)
      expect(heard.dbfs, path).toBeGreaterThan(-20)
    }
  }, 90_000)
})

// `npm run bench:relay`: the supernode's relay beside coturn, driven by coturn's own load client.
// For each load (turnutils_uclient clients, each a 50 packet/s stream of 120-byte packets to
// turnutils_peer's echo and back), coturn with one relay thread and the voxmesh relay are measured
// in the same run, one after the other (their order alternating), each fresh: loss, CPU per relayed
// packet (split into user and kernel time), peak RSS, and voxmesh's figures as ratios against
// coturn's. Then the floor of any relay written for Node: a bare Node UDP echo's CPU per datagram,
// at the largest load.
// Flags: --clients 100,200,300,400  --messages 500  --json
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { round } from '../lib/measure.js'
import { runBench } from '../lib/run-bench.js'
import { missingTools, startCoturn, startEchoPeer, startNodeEcho, startVoxmeshRelay, stopAllRelays, type RelayProcess } from './servers.js'
import { runStep, type LoadStep, type StepResult } from './uclient.js'

const PACKET_BYTES = 120
const INTERVAL_MS = 20

function options (): { clients: number[], messages: number, json: boolean } {
  const { values } = parseArgs({
    options: { clients: { type: 'string', default: '100,200,300,400' }, messages: { type: 'string', default: '500' }, json: { type: 'boolean', default: false } }
  })
  const clients = values.clients.split(',').map(Number)
  const messages = Number(values.messages)
  if (clients.some(n => !Number.isInteger(n) || n < 1 || n > 2000)) throw new Error(`--clients takes numbers in 1..2000 separated by commas, got ${values.clients}`)
  if (!Number.isInteger(messages) || messages < 10 || messages > 100_000) throw new Error(`--messages takes a number in 10..100000, got ${values.messages}`)
  return { clients, messages, json: values.json }
}

/**
 * One step against a fresh relay. turnutils_uclient now and then gives up on its own (437 on a
 * retried Allocate, then a 400 on ChannelBind; seen against coturn too): such a step is run once
 * more on another fresh relay, and said so.
 */
async function measure (start: () => Promise<RelayProcess>, peerPort: number, secret: string, step: LoadStep, measured?: RelayProcess): Promise<StepResult> {
  for (let attempt = 1; ; attempt++) {
    const relay = await start()
    try {
      return await runStep(relay, peerPort, secret, step, measured)
    } catch (error) {
      if (attempt === 2) throw error
      process.stderr.write(`${relay.name}, ${step.clients} clients: ${(error as Error).message.split('\n')[0] ?? ''}; once more\n`)
    } finally {
      await relay.stop()
    }
  }
}

interface NodeFloor { clients: number, usPerDatagram: number, kernelUsPerDatagram: number }

/** µs per packet, and its split: user + kernel time (/proc's split, sampled per clock tick). */
function cpuSplit (us: number, kernelUs: number): string {
  return `${round(us, 1)} (${round(us - kernelUs, 1)} + ${round(kernelUs, 1)})`
}

/**
 * The floor of a relayed packet on Node, at `step`'s load: coturn relays to a bare Node UDP echo
 * (node-echo-child.ts), whose CPU per echoed datagram (one receive, one send: what a relay does
 * per relayed packet) is read.
 */
async function nodeFloor (secret: string, step: LoadStep): Promise<NodeFloor> {
  const echo = await startNodeEcho()
  try {
    const result = await measure(async () => await startCoturn(secret), echo.port, secret, step, echo)
    const datagrams = Math.max(1, result.sent)
    return { clients: step.clients, usPerDatagram: result.cpuMs * 1000 / datagrams, kernelUsPerDatagram: result.kernelMs * 1000 / datagrams }
  } finally {
    await echo.stop()
  }
}

function report (rows: Array<{ coturn: StepResult, voxmesh: StepResult }>, floor: NodeFloor, load: number[]): string {
  const lines = [
    `loadavg at start ${load.map(l => l.toFixed(2)).join(' ')}, at end ${loadavg().map(l => l.toFixed(2)).join(' ')}`,
    'µs/packet: CPU per relayed packet (user + kernel time)',
    '',
    '| clients | coturn loss % | voxmesh loss % | coturn µs/packet | voxmesh µs/packet | CPU ratio | coturn RSS MiB | voxmesh RSS MiB |',
    '|---|---|---|---|---|---|---|---|'
  ]
  for (const { coturn, voxmesh } of rows) {
    lines.push(`| ${coturn.clients} | ${round(coturn.lossPct, 2)} | ${round(voxmesh.lossPct, 2)} | ${cpuSplit(coturn.cpuUsPerPacket, coturn.kernelUsPerPacket)} | ${cpuSplit(voxmesh.cpuUsPerPacket, voxmesh.kernelUsPerPacket)} | ${round(voxmesh.cpuUsPerPacket / coturn.cpuUsPerPacket, 2)}× | ${round(coturn.rssMiB)} | ${round(voxmesh.rssMiB)} |`)
  }
  const last = rows.at(-1)
  lines.push('', `Node floor at ${floor.clients} clients: a bare Node UDP echo spends ${cpuSplit(floor.usPerDatagram, floor.kernelUsPerDatagram)} µs per datagram (one receive, one send)` +
    (last === undefined ? '' : `; ${round(floor.usPerDatagram / last.coturn.cpuUsPerPacket, 2)}× coturn's µs per relayed packet, voxmesh ${round(last.voxmesh.cpuUsPerPacket / floor.usPerDatagram, 2)}× the floor`))
  return lines.join('\n')
}

async function main (): Promise<void> {
  const opts = options()
  const missing = missingTools()
  if (missing.length > 0) throw new Error(`bench:relay needs coturn's ${missing.join(', ')} on PATH (Debian: apt-get install -y coturn)`)
  const secret = randomBytes(16).toString('hex')
  const load = loadavg()
  const peer = await startEchoPeer()
  const rows: Array<{ coturn: StepResult, voxmesh: StepResult }> = []
  for (const [i, clients] of opts.clients.entries()) {
    const step: LoadStep = { clients, messages: opts.messages, length: PACKET_BYTES, intervalMs: INTERVAL_MS }
    const coturnFirst = i % 2 === 0
    const first = await measure(coturnFirst ? async () => await startCoturn(secret) : async () => await startVoxmeshRelay(secret), peer.port, secret, step)
    const second = await measure(coturnFirst ? async () => await startVoxmeshRelay(secret) : async () => await startCoturn(secret), peer.port, secret, step)
    const [coturn, voxmesh] = coturnFirst ? [first, second] : [second, first]
    rows.push({ coturn, voxmesh })
    if (!opts.json) process.stderr.write(`${clients} clients: coturn ${round(coturn.lossPct, 2)}% lost, ${round(coturn.cpuUsPerPacket, 2)} µs/packet; voxmesh ${round(voxmesh.lossPct, 2)}% lost, ${round(voxmesh.cpuUsPerPacket, 2)} µs/packet\n`)
  }
  await peer.stop()
  const floor = await nodeFloor(secret, { clients: Math.max(...opts.clients), messages: opts.messages, length: PACKET_BYTES, intervalMs: INTERVAL_MS })
  process.stdout.write(opts.json ? JSON.stringify({ loadavg: load, rows, nodeFloor: floor }, null, 2) + '\n' : report(rows, floor, load) + '\n')
}

await runBench('bench:relay', main, stopAllRelays)

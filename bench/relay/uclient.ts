// One load step of bench:relay: coturn's `turnutils_uclient` with N clients, each a channel-bound
// allocation sending `messages` packets of `length` bytes every `intervalMs` to the echoing peer
// and counting what comes back, against one relay. Meanwhile the relay's CPU time and RSS are read
// from /proc.
import { spawn } from 'node:child_process'
import { cpuTimesOf, memoryOf } from '../lib/measure.js'
import type { RelayProcess } from './servers.js'

export interface LoadStep { clients: number, messages: number, length: number, intervalMs: number }

export interface StepResult {
  relay: string
  clients: number
  sent: number
  received: number
  /** Lost of sent, %. */
  lossPct: number
  /** Relay CPU time over the step, ms. */
  cpuMs: number
  /** Relay CPU per relayed packet (each message crosses the relay twice: to the peer and back), µs. */
  cpuUsPerPacket: number
  /** Of cpuMs, in the kernel (system calls, and the loopback delivery a send carries out); the rest is user time. */
  kernelMs: number
  /** Of cpuUsPerPacket, the kernel's share, µs. */
  kernelUsPerPacket: number
  /** The relay's peak RSS during the step, MiB. */
  rssMiB: number
}

const RSS_POLL_MS = 500

/** `measured`: the process whose CPU and RSS are read (default the relay; bench:relay's Node floor reads its peer). */
export async function runStep (relay: RelayProcess, peerPort: number, secret: string, step: LoadStep, measured: RelayProcess = relay): Promise<StepResult> {
  const args = [
    '-X', '-c', '-m', String(step.clients), '-n', String(step.messages), '-l', String(step.length), '-z', String(step.intervalMs),
    '-W', secret, '-u', 'bench', '-e', '127.0.0.1', '-r', String(peerPort), '-p', String(relay.port), '127.0.0.1'
  ]
  const cpuBefore = cpuTimesOf(measured.pid)
  let rssKb = memoryOf(measured.pid).rssKb
  const poll = setInterval(() => { rssKb = Math.max(rssKb, memoryOf(measured.pid).rssKb) }, RSS_POLL_MS)
  const sendingMs = step.messages * step.intervalMs
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { text += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, sendingMs + 120_000)
    child.once('error', reject)
    child.once('close', code => {
      clearTimeout(timer)
      if (code === 0) resolve(text)
      else reject(new Error(`turnutils_uclient against ${relay.name} exited ${String(code)}:\n${text.slice(-1500)}`))
    })
  }).finally(() => { clearInterval(poll) })
  const cpuAfter = cpuTimesOf(measured.pid)
  const kernelMs = cpuAfter.kernelMs - cpuBefore.kernelMs
  const cpuMs = cpuAfter.userMs - cpuBefore.userMs + kernelMs
  const messages = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1)
  if (messages === undefined) throw new Error(`no totals in turnutils_uclient's output against ${relay.name}:\n${output.slice(-1500)}`)
  const sent = Number(messages[1])
  const received = Number(messages[2])
  const packets = Math.max(1, sent + received)
  return {
    relay: measured.name,
    clients: step.clients,
    sent,
    received,
    lossPct: sent === 0 ? NaN : (sent - received) / sent * 100,
    cpuMs,
    kernelMs,
    cpuUsPerPacket: cpuMs * 1000 / packets,
    kernelUsPerPacket: kernelMs * 1000 / packets,
    rssMiB: rssKb / 1024
  }
}

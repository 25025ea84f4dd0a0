// The demo's phone calls: a PSTN gateway (the service pstn) joins the network, alice gets credit,
// dials the echo line (free: her own tone comes back, narrowband) and a 1 kHz tone number (charged
// per started minute), and her balance is shown before and after.
import { join } from 'node:path'
import { dominantFrequency, levelDbfs, readWavFile, type CallLine } from '../node/index.js'
import { Proc, runCliOk } from '../bench/lib/processes.js'
import { formatMoney } from '../common/money.js'
import { waitFor, type DemoDirs, type DemoNetwork } from './network.js'
import { detail, shown, step, verdict } from './print.js'

const ECHO_TONE_HZ = 700
const TONE_NUMBER = '+442079460100'
const TONE_NUMBER_HZ = 1000
const CALL_SECONDS = 3


export async function phoneCalls (net: DemoNetwork, dirs: DemoDirs): Promise<boolean> {
  const loginDir = join(dirs.root, 'login-server')
  const token = (await runCliOk(['login-server', 'add-service', 'pstn', '--data-dir', loginDir])).trim()
  await runCliOk(['login-server', 'credit', 'alice', '500', '--data-dir', loginDir])
  step('voxmesh login-server add-service pstn (its token goes to the gateway); voxmesh login-server credit alice 500')
  const gateway = new Proc('pstn-gateway', ['pstn-gateway', '--login-server', net.url, '--data-dir', join(dirs.root, 'pstn-gateway'), '--json'],
    { VOXMESH_SERVICE_TOKEN: token }, { logFile: join(dirs.logs, 'pstn-gateway.log') })
  await waitFor(dirs, 'the PSTN gateway to start', async () => gateway.stdoutLines.find(l => l.includes('PSTN gateway up')))
  step('PSTN gateway up as pstn, on the shipped numbers (voxmesh pstn-gateway numbers lists them)')
  const before = await balance(net)
  step(`alice's balance: ${formatMoney(before)} (voxmesh balance)`)

  const echoed = join(dirs.recordings, 'echo-line.wav')
  // The gateway's node may still be publishing where it is: the first dial may not reach it.
  const echo = await waitFor(dirs, 'the echo line to answer', async () => {
    const lines = await call(net, 'echo', ['--tone', String(ECHO_TONE_HZ), '--record', echoed, '--overwrite'])
    return lines.some(l => l.event === 'connected') ? lines : undefined
  })
  const echoOk = tone(echoed, ECHO_TONE_HZ, `echo line: alice sent ${ECHO_TONE_HZ} Hz and heard`) && endedWith(echo, 'hangup')

  const toned = join(dirs.recordings, 'tone-number.wav')
  const charged = await call(net, TONE_NUMBER, ['--tone', '300', '--record', toned, '--overwrite'])
  const toneOk = tone(toned, TONE_NUMBER_HZ, `${TONE_NUMBER} (a 1 kHz tone line): alice heard`) && endedWith(charged, 'hangup')
  // The charge reaches the login server when the gateway has recorded the call's end.
  const after = await waitFor(dirs, 'the charge', async () => { const now = await balance(net); return now < before ? now : undefined }, 15_000)
  const moneyOk = after === before - 2
  step(`alice's balance: ${formatMoney(before)} → ${formatMoney(after)}: the echo line is free, one started minute to +44 costs 0.02 EUR: ${verdict(moneyOk)}`)
  const ok = echoOk && toneOk && moneyOk
  step(`phone calls: ${verdict(ok)}`)
  return ok
}

async function balance (net: DemoNetwork): Promise<number> {
  return (await net.cliJson<{ balance: number }>('alice', 'balance')).balance
}

async function call (net: DemoNetwork, target: string, args: string[]): Promise<CallLine[]> {
  step(`call: alice → ${target}: voxmesh call ${target} ${args.map(a => a.includes('/') ? shown(a) : a).join(' ')} --duration ${CALL_SECONDS}`)
  const result = await net.cli('alice', ['call', target, ...args, '--duration', String(CALL_SECONDS), '--json'], 60_000)
  const lines = result.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as CallLine)
  const ended = lines.find(l => l.event === 'ended')
  detail(`ended: ${ended?.message ?? result.stderr.trim()}`)
  return lines
}

const endedWith = (lines: CallLine[], reason: string): boolean => lines.find(l => l.event === 'ended')?.reason === reason

/** The recording's middle holds `want` Hz, loud enough. */
function tone (file: string, want: number, what: string): boolean {
  const wav = readWavFile(file)
  const middle = wav.samples.subarray(wav.sampleRate / 2, Math.max(wav.sampleRate / 2, wav.samples.length - wav.sampleRate / 4))
  const hz = dominantFrequency(middle, wav.sampleRate)
  const dbfs = levelDbfs(middle)
  const ok = Math.abs(hz - want) <= 3 && dbfs > -30
  detail(`${what} ${hz.toFixed(1)} Hz at ${dbfs.toFixed(1)} dBFS (want ${want} ± 3, > -30): ${verdict(ok)}; ${shown(file)}`)
  return ok
}

// `voxmesh call|answer|decline|hangup|mute|unmute|calls`: voice calls through
// the node running on a data dir (its control API). `call` follows its call on
// the node's event stream until it ends.
import { resolve as resolvePath } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { UserError } from '../../common/user-error.js'
import { ECHO_LINE, looksLikePhoneNumber } from '../../common/phone-numbers.js'
import type { CallAudioOptions, CallMediaSummary, CallOptions, CallStats, NodeEvent } from '../runtime/api.js'
import { ControlClient } from '../control/client.js'
import { MAX_TONE_HZ, MIN_TONE_HZ } from '../control/constants.js'
import {
  formatCallHistory,
  formatCallConnected, formatCallEnded, formatCallRecovered, formatCallRecovering, formatCallRinging, formatCallStats, formatCalls, shortCallId
} from '../control/format.js'
import { clientOptions, output, resolve as resolveClient, type ClientOptions } from './client-commands.js'

/** The longest --duration: a day (and well inside what a timer can hold). */
const MAX_CALL_DURATION_SECONDS = 86_400
/** After asking the node to hang up, how long to wait for the call's end before giving up on it. */
const HANGUP_CONFIRM_MS = 5000

/** How a call ends, in the words; the node's other reasons map onto these (the original goes in `cause`). */
export const CALL_END_REASONS = [
  'hangup', 'declined', 'busy', 'no-answer', 'cancelled', 'unreachable', 'failed',
  // A call to a phone number, as the PSTN gateway ends it.
  'payment-required', 'not-in-service', 'congestion'
] as const
export type CallEndReason = typeof CALL_END_REASONS[number]

/** What `call --json` prints, one object per line. */
export type CallLine =
  | { event: 'ringing', callId: string, peer: string }
  /** `relay` is the relaying supernode (user@address) on the relay path, null on the direct one. */
  | { event: 'connected', callId: string, peer: string, path: 'direct' | 'relay', relay: string | null, setupMs: number }
  | { event: 'stats', callId: string } & CallStats
  | { event: 'recovering', callId: string, peer: string, reason: string }
  | { event: 'recovered', callId: string, peer: string, recoveryMs: number, path: 'direct' | 'relay' }
  | { event: 'ended', callId: string, peer: string, reason: CallEndReason, cause?: string, message: string, durationMs: number, recording?: string, media?: CallMediaSummary }

/** A call-* event of the node as `call --json` prints it, or undefined for the others. */
export function callLine (event: NodeEvent): CallLine | undefined {
  switch (event.event) {
    case 'call-ringing': return { event: 'ringing', callId: event.callId, peer: event.peer }
    case 'call-connected':
      return { event: 'connected', callId: event.callId, peer: event.peer, path: event.path, relay: event.relay ?? null, setupMs: event.setupMs }
    case 'call-stats': {
      const { event: _event, ...stats } = event
      return { event: 'stats', ...stats }
    }
    case 'call-recovering': return { event: 'recovering', callId: event.callId, peer: event.peer, reason: event.reason }
    case 'call-recovered': return { event: 'recovered', callId: event.callId, peer: event.peer, recoveryMs: event.recoveryMs, path: event.path }
    case 'call-ended': {
      const known = (CALL_END_REASONS as readonly string[]).includes(event.reason)
      // "not-allowed": the callee takes calls from contacts only, a refusal like a decline.
      const reason: CallEndReason = known ? event.reason as CallEndReason : event.reason === 'not-allowed' ? 'declined' : 'failed'
      return {
        event: 'ended',
        callId: event.callId,
        peer: event.peer,
        reason,
        ...(known ? {} : { cause: event.reason }),
        message: event.message,
        durationMs: event.durationMs,
        ...(event.recording === undefined ? {} : { recording: event.recording }),
        ...(event.media === undefined ? {} : { media: event.media })
      }
    }
    default: return undefined
  }
}

const tone = (value: string): number => {
  const hz = Number(value)
  if (value.trim() === '' || !Number.isFinite(hz) || hz < MIN_TONE_HZ || hz > MAX_TONE_HZ) {
    throw new InvalidArgumentError(`expected a frequency from ${MIN_TONE_HZ} to ${MAX_TONE_HZ} Hz`)
  }
  return hz
}

const seconds = (value: string): number => {
  const s = Number(value)
  if (value.trim() === '' || !Number.isFinite(s) || s <= 0 || s > MAX_CALL_DURATION_SECONDS) {
    throw new InvalidArgumentError(`expected seconds, more than 0 and at most ${MAX_CALL_DURATION_SECONDS}`)
  }
  return s
}

interface AudioFlags { play?: string, tone?: number, record?: string, overwrite?: boolean }

/** --play/--tone/--record with file paths made absolute here: the node, not this process, opens them. */
function audioOptions (flags: AudioFlags): CallAudioOptions {
  const options: CallAudioOptions = {}
  if (flags.play !== undefined) options.play = resolvePath(flags.play)
  if (flags.tone !== undefined) options.tone = flags.tone
  if (flags.record !== undefined) options.record = resolvePath(flags.record)
  if (flags.overwrite === true) options.overwrite = true
  return options
}

/** --play FILE | --tone HZ, and --record FILE [--overwrite]. The node checks the files before the call rings. */
function audioFlags (command: Command, who: 'you' | 'the caller'): Command {
  return command
    .addOption(new Option('--play <file>', `send this WAV file to ${who === 'you' ? 'the other side' : 'the caller'}`).conflicts('tone'))
    .addOption(new Option('--tone <hz>', `send a sine tone (${MIN_TONE_HZ}–${MAX_TONE_HZ} Hz)`).argParser(tone).conflicts('play'))
    .option('--record <file>', 'record what the other side sends to this WAV file (a new one: see --overwrite)')
    .option('--overwrite', 'let --record replace an existing file')
}

/** `duration` is --duration's seconds (commander names the field after the flag). */
interface CallFlags extends AudioFlags, ClientOptions { duration?: number, relayOnly?: boolean }

/** What ended `call`: the call's end, or the event stream failing first. */
type Outcome = { ended: Extract<NodeEvent, { event: 'call-ended' }> } | { error: Error }

function callCommand (): Command {
  return audioFlags(clientOptions(new Command('call')), 'you')
    .description('call a contact, a phone number (+ and 8-15 digits, through the PSTN gateway) or echo (the echo test line) ' +
      'through the running node and follow the call until it ends (Ctrl-C hangs up); exits 0 when the call connected and ended normally')
    .argument('<name>', 'who to call: a contact, +NUMBER or echo')
    .option('--duration <seconds>', 'hang up this long after the call connects', seconds)
    .option('--relay-only', 'send media only through a relay (hides your address from the other side)')
    .action(async (who: string, flags: CallFlags, command: Command) => {
      const { dataDir, json } = resolveClient(command)
      const client = ControlClient.fromDataDir(dataDir)
      const options: CallOptions = audioOptions(flags)
      if (flags.relayOnly === true) options.relayOnly = true
      await followCall(client, who, options, { json, durationSeconds: flags.duration })
    })
}

async function followCall (client: ControlClient, who: string, options: CallOptions, opts: { json: boolean, durationSeconds?: number }): Promise<void> {
  const print = (line: CallLine, text: string | undefined): void => {
    if (opts.json) process.stdout.write(JSON.stringify(line) + '\n')
    else if (text !== undefined) process.stdout.write(text + '\n')
  }
  const stream = new AbortController()
  let callId: string | undefined
  /** Events that came before POST /v1/calls answered: any of them may be this call's. */
  const early: NodeEvent[] = []
  let connected = false
  let durationTimer: NodeJS.Timeout | undefined
  let confirmTimer: NodeJS.Timeout | undefined
  let hangupWanted = false
  let hangupSent = false

  let settle: (outcome: Outcome) => void = () => {}
  const outcome = new Promise<Outcome>(resolve => { settle = resolve })
  let opened: () => void = () => {}
  const open = new Promise<void>(resolve => { opened = resolve })

  const hangup = (): void => {
    hangupWanted = true
    if (callId === undefined || hangupSent) return
    hangupSent = true
    const id = callId
    let refusal: Error | undefined
    // Refused most likely because the call ended on its own just now: its call-ended event settles it.
    client.hangup(id).catch((err: Error) => { refusal = err })
    confirmTimer = setTimeout(() => {
      settle({ error: refusal ?? new UserError(`asked the node to hang up call ${shortCallId(id)}, but it did not say the call ended`) })
    }, HANGUP_CONFIRM_MS)
  }

  // A call to a number goes to the PSTN gateway (peer pstn): the lines name the number dialed.
  const named = (peer: string): string => looksLikePhoneNumber(who.trim()) || who.toLowerCase() === ECHO_LINE ? who.trim() : peer
  const handle = (event: NodeEvent): void => {
    if (!('callId' in event)) return
    if (callId === undefined) { early.push(event); return }
    if (event.callId !== callId) return
    const line = callLine(event)
    if (line === undefined) return
    switch (event.event) {
      case 'call-ringing': print(line, formatCallRinging(named(event.peer))); return
      case 'call-connected':
        connected = true
        print(line, formatCallConnected({ ...event, peer: named(event.peer) }))
        if (opts.durationSeconds !== undefined && durationTimer === undefined) {
          durationTimer = setTimeout(hangup, opts.durationSeconds * 1000)
        }
        return
      case 'call-stats': print(line, formatCallStats(event)); return
      case 'call-recovering': print(line, formatCallRecovering(event)); return
      case 'call-recovered': print(line, formatCallRecovered(event)); return
      case 'call-ended':
        // A failure's message goes to stderr (below) rather than twice.
        print(line, connected && event.reason === 'hangup' ? formatCallEnded(event) : undefined)
        settle({ ended: event })
    }
  }

  const onSignal = (): void => {
    // A second Ctrl-C: stop waiting for the node.
    if (hangupWanted) { process.exit(130) }
    hangup()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // `voxmesh call bob --json | head -3` closes the pipe: hang up rather than talk to nobody.
  const onStdoutError = (): void => { if (!hangupWanted) hangup() }
  process.stdout.on('error', onStdoutError)

  // The event stream first, so not even an event sent while POST /v1/calls runs is missed.
  const reading = (async () => {
    for await (const event of client.events(stream.signal, { onOpen: opened })) handle(event)
  })().then(
    () => { settle({ error: new UserError(`the node at ${client.url} closed the event stream before the call ended (did it stop?)`) }) },
    (err: Error) => { settle({ error: err }) }
  )

  try {
    const first = await Promise.race([open.then(() => undefined), outcome])
    if (first !== undefined && 'error' in first) throw first.error
    if (hangupWanted) throw new UserError('interrupted before the call was placed')
    callId = (await client.placeCall(who, options)).callId
    for (const event of early.splice(0)) handle(event)
    // Ctrl-C while the call was being placed.
    if (hangupWanted) hangup()
    const result = await outcome
    if ('error' in result) throw result.error
    if (!(connected && result.ended.reason === 'hangup')) throw new UserError(result.ended.message)
  } finally {
    clearTimeout(durationTimer)
    clearTimeout(confirmTimer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.stdout.off('error', onStdoutError)
    stream.abort()
    await reading
  }
}

/** `answer`, `decline`, `hangup`, `mute`, `unmute`: one action on the given (or the only fitting) call. */
function callAction (name: string, description: string, run: (client: ControlClient, id: string | undefined) => Promise<{ value: object, text: string }>): Command {
  return clientOptions(new Command(name))
    .description(description)
    .argument('[id]', 'the call (the first characters of the id `voxmesh calls` shows); default: the only one that fits')
    .action(async (id: string | undefined, _flags: ClientOptions, command: Command) => {
      const { dataDir, json } = resolveClient(command)
      const { value, text } = await run(ControlClient.fromDataDir(dataDir), id)
      output(json, value, text)
    })
}

function answerCommand (): Command {
  const command = callAction('answer', 'answer the ringing call', async (client, id) => {
    const flags = command.opts<AudioFlags>()
    const { callId } = await client.answerCall(id, audioOptions(flags))
    const peer = (await client.calls().catch(() => [])).find(c => c.callId === callId)?.peer
    return { value: { callId, status: 'answered' }, text: `answered ${peer ?? 'the call'} (id ${shortCallId(callId)})` }
  })
  return audioFlags(command, 'the caller')
}

function callsCommand (): Command {
  return clientOptions(new Command('calls'))
    .description('the node\'s calls with their state, path and quality (RTT, jitter, loss, MOS); --history: your calls to and from phone numbers')
    .option('--history', 'your calls to and from phone numbers (the PSTN gateway\'s records: number, answer, seconds, cost, disposition)')
    .option('--limit <n>', 'with --history: at most this many, newest first (default 20)', (value: string) => {
      if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new InvalidArgumentError('expected a whole number from 1 to 9999')
      return Number(value)
    })
    .action(async (flags: ClientOptions & { history?: boolean, limit?: number }, command: Command) => {
      const { dataDir, json } = resolveClient(command)
      const client = ControlClient.fromDataDir(dataDir)
      if (flags.history === true) {
        const history = await client.callHistory(flags.limit)
        output(json, history, formatCallHistory(history))
        return
      }
      const calls = await client.calls()
      output(json, calls, formatCalls(calls))
    })
}

export function callCommands (): Command[] {
  return [
    callCommand(),
    answerCommand(),
    callAction('decline', 'decline the ringing call', async (client, id) => {
      await client.declineCall(id)
      return { value: { status: 'declined' }, text: 'declined the call' }
    }),
    callAction('hangup', 'end the call (or cancel it while it rings)', async (client, id) => {
      await client.hangup(id)
      return { value: { status: 'ended' }, text: 'hung up' }
    }),
    callAction('mute', 'stop sending your audio in the call', async (client, id) => {
      await client.setMuted(true, id)
      return { value: { muted: true }, text: 'muted' }
    }),
    callAction('unmute', 'send your audio in the call again', async (client, id) => {
      await client.setMuted(false, id)
      return { value: { muted: false }, text: 'unmuted' }
    }),
    callsCommand()
  ]
}

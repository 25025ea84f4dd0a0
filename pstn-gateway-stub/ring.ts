// `voxmesh pstn-gateway ring`: a phone caller dials a number assigned to a user. It joins the
// overlay as one more device of the service pstn (its own device key, in a folder of its own that
// goes when it ends), rings the user's devices with the caller's number, and carries the phone
// side's audio narrowband both ways: --play or --tone out, --record what the phone hears.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createNode, createNullSink, createToneSource, createWavFileSink, createWavSource, readWavFile, type AudioSink, type NodeEvent, type RunningNode } from '../node/index.js'
import type { Logger } from '../common/logger.js'
import { UserError } from '../common/user-error.js'
import { invalidPhoneNumberMessage, isPhoneNumber } from '../common/phone-numbers.js'
import { readAssignments } from './assignments.js'
import { openCdrStore } from './cdr/cdr-store.js'
import { createBilling } from './billing.js'
import { PSTN_USER } from './constants.js'
import { lineFromSource, lineIntoSink } from './lines/line-audio.js'

/** How long the ringing device waits to be attached to a supernode before it gives up. */
const ATTACH_TIMEOUT_MS = 20_000

export interface RingOptions {
  from: string
  to: string
  loginServer: string
  dataDir: string
  serviceToken: string
  log: Logger
  play?: string
  tone?: number
  record?: string
  /** Hang up this long after the user answers (default: when the user hangs up). */
  durationSeconds?: number
  /** Each step in words (ringing, answered, ended). */
  say: (line: string) => void
}

/** Rings; resolves with the call's end (its reason and message) once it is over. */
export async function ring (options: RingOptions): Promise<{ reason: string, message: string, connected: boolean }> {
  if (!isPhoneNumber(options.from)) throw new UserError(invalidPhoneNumberMessage(options.from))
  if (!isPhoneNumber(options.to)) throw new UserError(invalidPhoneNumberMessage(options.to))
  const user = readAssignments(options.dataDir).get(options.to)
  if (user === undefined) throw new UserError(`${options.to} is not assigned to anyone: voxmesh pstn-gateway assign ${options.to} USER`)
  const wav = options.play === undefined ? undefined : readWavFile(options.play)
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const device = mkdtempSync(join(options.dataDir, 'ring-'))
  const cdr = openCdrStore(join(options.dataDir, 'calls.sqlite'))
  let node: RunningNode | undefined
  try {
    // One more device of pstn: invites to the gateway reach it too. It never refuses them (a refusal
    // could end a caller's call another gateway would answer) and never answers them.
    node = await createNode({
      user: PSTN_USER, serviceToken: options.serviceToken, loginServer: options.loginServer, dataDir: device, role: 'host', log: options.log,
      calls: { anyone: true, callWaiting: true }
    })
    await attached(node)
    const source = wav !== undefined
      ? createWavSource(wav, { loop: true, description: `wav ${options.play ?? ''}` })
      : createToneSource({ frequency: options.tone ?? 440 })
    const sink: AudioSink | undefined = options.record === undefined ? undefined : createWavFileSink(options.record)
    const streams = { source: lineFromSource('phone caller', source), sink: sink === undefined ? createNullSink() : lineIntoSink(sink) }
    const events: NodeEvent[] = []
    const unsubscribe = node.subscribe(event => { events.push(event) })
    const { callId } = await node.placeCall(user, { callerNumber: options.from, streams })
    // Ctrl-C hangs up: the call ends, its record is written and the device's folder goes, as at a normal end.
    const hangUp = (): void => { try { node?.hangup(callId) } catch {} }
    process.once('SIGINT', hangUp)
    process.once('SIGTERM', hangUp)
    await cdr.begin({ callId, direction: 'inbound', user, number: options.to, callerNumber: options.from, startedAt: Date.now() })
    options.say(`${options.from} rings ${options.to} (${user})...`)
    const end = await follow(node, callId, events, options)
    unsubscribe()
    const record = await cdr.get(callId)
    if (end.connected && record?.answeredAt === null) await cdr.answered(callId, end.connectedAt ?? Date.now())
    await cdr.end(callId, { at: Date.now(), disposition: end.connected ? 'ANSWERED' : end.reason === 'busy' ? 'BUSY' : 'NO ANSWER', reason: end.reason, chargeable: false })
    // The user sees it in their history; what cannot be reported now, the gateway sends later.
    await createBilling({ loginServer: options.loginServer, serviceToken: options.serviceToken, cdr, log: options.log }).settlePending()
    return end
  } finally {
    await node?.close()
    await cdr.close()
    rmSync(device, { recursive: true, force: true })
  }
}

async function attached (node: RunningNode): Promise<void> {
  const deadline = Date.now() + ATTACH_TIMEOUT_MS
  while (node.status().supernode === null) {
    if (Date.now() > deadline) throw new UserError('could not join the network: no supernode took this device within 20 s')
    await sleep(100)
  }
}

/** Waits for the call's end, saying each step; hangs up after the duration once answered. */
async function follow (node: RunningNode, callId: string, events: NodeEvent[], options: RingOptions): Promise<{ reason: string, message: string, connected: boolean, connectedAt?: number }> {
  let connectedAt: number | undefined
  let seen = 0
  for (;;) {
    for (; seen < events.length; seen++) {
      const event = events[seen] as NodeEvent
      if (!('callId' in event) || event.callId !== callId) continue
      if (event.event === 'call-connected') {
        connectedAt = Date.now()
        options.say(`answered: ${options.from} is connected to ${event.peer}`)
        if (options.durationSeconds !== undefined) setTimeout(() => { try { node.hangup(callId) } catch {} }, options.durationSeconds * 1000).unref()
      }
      if (event.event === 'call-ended') {
        options.say(`call ended: ${event.message}`)
        return { reason: event.reason, message: event.message, connected: connectedAt !== undefined, connectedAt }
      }
    }
    await sleep(50)
  }
}

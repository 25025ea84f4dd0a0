// Calls users place to phone numbers, one line each: what the number does (numbers/), the
// authorization and the charge (billing.ts), and the call's record (cdr/). Fed the gateway node's
// events; acts through its NodeApi. A line is answered with its own audio streams (lines/), so every
// call here is narrowband like a real trunk's.
import type { NodeEvent, RunningNode } from '../node/index.js'
import type { Logger } from '../common/logger.js'
import type { CallDisposition, CdrStore } from './cdr/cdr-store.js'
import type { Billing } from './billing.js'
import { announcementPath, lookupNumber, type Behaviour, type NumberEntry, type NumbersTable } from './numbers/numbers-file.js'
import { describeOutcome, outcomeOf, type GatewayOutcome } from './numbers/outcomes.js'
import { announcementLine, echoLine, toneLine, type LineAudio } from './lines/line-audio.js'
import { notInServiceTone, steadyTone } from './line/tones.js'
import { ECHO_NUMBER, RING_CYCLE_MS } from './constants.js'

const TONE_LEVEL_DBFS = -10
/** How often a line that plays to an end (an announcement, the SIT) is checked for having finished. */
const FINISHED_POLL_MS = 100

type Incoming = Extract<NodeEvent, { event: 'call-incoming' }>
type EndReason = NonNullable<Parameters<RunningNode['hangup']>[1]>

interface Line {
  callId: string
  user: string
  number: string
  /** The record exists (begin ran): later writes wait for it. */
  begun: Promise<unknown>
  /** An answered call is charged (the echo line and the SIT are free). */
  chargeable: boolean
  /** Whether connecting counts as an answer in the record (the SIT is heard before any answer). */
  answers: boolean
  /** The record's disposition if it never connects (busy, no answer, no credit...). */
  unanswered: CallDisposition
  /** Connected seconds the caller's credit pays for. */
  maxSeconds?: number
  /** How the gateway ends the call when its line has said all it will. */
  endWith: EndReason
  audio?: LineAudio
  timers: NodeJS.Timeout[]
}

export interface DialedCalls {
  handle: (event: NodeEvent) => void
  /** Resolves once every call's record is written. */
  closed: () => Promise<void>
}

export function createDialedCalls (
  components: { node: RunningNode, cdr: CdrStore, billing: Billing, numbers: NumbersTable, log: Logger },
  init: { maxLines: number, ringCycleMs?: number }
): DialedCalls {
  const { node, cdr, billing, numbers, log } = components
  const ringCycleMs = init.ringCycleMs ?? RING_CYCLE_MS
  const lines = new Map<string, Line>()
  const work = new Set<Promise<unknown>>()
  const track = (promise: Promise<unknown>): void => {
    const settled = promise.catch((err: Error) => { log.error({ err: err.message }, `a gateway call step failed: ${err.message}`) })
    work.add(settled)
    void settled.finally(() => { work.delete(settled) })
  }
  const later = (line: Line, ms: number, action: () => void): void => { line.timers.push(setTimeout(action, ms)) }
  /** Ends a call that never answered as a SIP trunk would have (outcomes.ts): its reason, its record's disposition. */
  const refuse = (line: Line, what: Behaviour | GatewayOutcome): void => {
    const outcome = outcomeOf(what)
    line.unanswered = outcome.disposition
    log.info({ callId: line.callId, user: line.user }, `call to ${line.number}: ${describeOutcome(outcome)}`)
    try { node.declineCall(line.callId, outcome.endReason as EndReason) } catch {} // the caller gave up meanwhile
  }
  const answer = (line: Line, audio: LineAudio): void => {
    line.audio = audio
    node.answerCall(line.callId, { streams: { source: audio.source, sink: audio.sink } }).catch((err: Error) => {
      log.warn({ callId: line.callId }, `answering the call to ${line.number} failed: ${err.message}`)
    })
    const poll = setInterval(() => {
      if (!audio.finished()) return
      clearInterval(poll)
      try { node.hangup(line.callId, line.endWith) } catch {}
    }, FINISHED_POLL_MS)
    line.timers.push(poll)
  }

  /** What the number does, once its record exists. */
  async function dial (line: Line, entry: NumberEntry): Promise<void> {
    switch (entry.behaviour) {
      case 'busy': refuse(line, 'busy'); return
      case 'no-answer': later(line, entry.ringSeconds * 1000, () => { refuse(line, 'no-answer') }); return
      case 'not-in-service':
        // The SIT, then the end: heard as early media, never an answer, never charged.
        line.answers = false
        line.unanswered = outcomeOf('not-in-service').disposition
        line.endWith = outcomeOf('not-in-service').endReason as EndReason
        log.info({ callId: line.callId, user: line.user }, `call to ${line.number}: SIT, then ${describeOutcome(outcomeOf('not-in-service'))}`)
        answer(line, toneLine('not-in-service SIT', notInServiceTone()))
        return
    }
    const authorization = await billing.authorize(line.callId, line.user, line.number)
    if (!authorization.ok) {
      log.info({ callId: line.callId, user: line.user }, `call to ${line.number} refused: ${authorization.message}`)
      refuse(line, authorization.reason)
      return
    }
    line.chargeable = true
    line.maxSeconds = authorization.maxSeconds
    const audio = entry.behaviour === 'tone'
      ? toneLine(`tone ${entry.hz} Hz`, steadyTone(entry.hz, TONE_LEVEL_DBFS))
      : entry.behaviour === 'announcement' ? announcementLine(announcementPath(numbers, entry), entry.repeat) : echoLine()
    later(line, entry.behaviour === 'answer-after' ? entry.rings * ringCycleMs : 0, () => { answer(line, audio) })
  }

  function incoming (event: Incoming): void {
    const number = event.number
    if (number === undefined) {
      // Someone called the service itself: there is nothing to connect them to.
      try { node.declineCall(event.callId, 'not-in-service') } catch {}
      return
    }
    const line: Line = {
      callId: event.callId, user: event.from, number, begun: Promise.resolve(), chargeable: false, answers: true, unanswered: 'NO ANSWER', endWith: 'hangup', timers: []
    }
    lines.set(line.callId, line)
    line.begun = cdr.begin({ callId: line.callId, direction: 'outbound', user: line.user, number, startedAt: Date.now() })
    track(line.begun)
    if (lines.size > init.maxLines) { refuse(line, 'congestion'); return }
    log.info({ callId: line.callId, user: line.user }, `${line.user} dials ${number}`)
    if (number === ECHO_NUMBER) { answer(line, echoLine()); return }
    track(line.begun.then(async () => { await dial(line, lookupNumber(numbers, number)) }))
  }

  function connected (line: Line): void {
    if (!line.answers) return
    track(line.begun.then(async () => await cdr.answered(line.callId, Date.now())))
    // The credit pays for this much: then the call is cut, and says why.
    if (line.maxSeconds !== undefined) later(line, line.maxSeconds * 1000, () => { try { node.hangup(line.callId, 'payment-required') } catch {} })
  }

  function ended (line: Line, reason: string): void {
    lines.delete(line.callId)
    for (const timer of line.timers) clearTimeout(timer)
    track(line.begun.then(async () => {
      const record = await cdr.get(line.callId)
      const answered = record?.answeredAt !== null && record?.answeredAt !== undefined
      await cdr.end(line.callId, { at: Date.now(), disposition: answered ? 'ANSWERED' : line.unanswered, reason, chargeable: line.chargeable && answered })
      // Another gateway answered it: that one's record is the call's; this one stays here only.
      if (reason === 'answered-elsewhere') await cdr.reported(line.callId)
      // Its charge (if any) and its record for the user's history go to the login server now.
      await billing.settlePending()
    }))
  }

  return {
    handle (event) {
      if (event.event === 'call-incoming') { incoming(event); return }
      if (!('callId' in event)) return
      const line = lines.get(event.callId)
      if (line === undefined) return
      if (event.event === 'call-connected') connected(line)
      else if (event.event === 'call-ended') ended(line, event.reason)
    },
    async closed () {
      while (work.size > 0) await Promise.all([...work])
    }
  }
}

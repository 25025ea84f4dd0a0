// Calls users place to phone numbers, one line each: what the number does (numbers/), the
// authorization and the charge (billing.ts), and the call's record (cdr/). Fed the gateway node's
// events; acts through its NodeApi. A line is answered with its own audio streams (lines/), so every
// call here is narrowband like a real trunk's.
import type { NodeEvent, RunningNode } from '../node/index.js'
import type { Logger } from '../common/logger.js'
import type { CdrStore } from './cdr/cdr-store.js'
import type { Billing } from './billing.js'
import { announcementPath, lookupNumber, type NumberEntry, type NumbersTable } from './numbers/numbers-file.js'
import { describeOutcome, outcomeOf } from './numbers/outcomes.js'
import { createLineActions, type EndReason, type Line } from './line-actions.js'
import { announcementLine, echoLine, toneLine } from './lines/line-audio.js'
import { notInServiceTone, steadyTone } from './line/tones.js'
import { ECHO_MAX_SECONDS, ECHO_NUMBER, MAX_LINES_PER_USER, RING_CYCLE_MS } from './constants.js'

const TONE_LEVEL_DBFS = -10

type Incoming = Extract<NodeEvent, { event: 'call-incoming' }>
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
  const { later, refuse, answer } = createLineActions(node, log)

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
    if (line.over) return // the caller gave up meanwhile
    if (!authorization.ok) {
      log.info({ callId: line.callId, user: line.user }, `call to ${line.number} refused: ${authorization.message}`)
      refuse(line, authorization.reason)
      return
    }
    line.chargeable = true
    await cdr.authorized(line.callId, authorization.maxSeconds)
    const audio = entry.behaviour === 'tone'
      ? toneLine(`tone ${entry.hz} Hz`, steadyTone(entry.hz, TONE_LEVEL_DBFS))
      : entry.behaviour === 'announcement' ? announcementLine(announcementPath(numbers, entry), entry.repeat) : echoLine()
    later(line, entry.behaviour === 'answer-after' ? entry.rings * ringCycleMs : 0, () => { answer(line, audio, authorization.maxSeconds) })
  }

  function incoming (event: Incoming): void {
    const number = event.number
    if (number === undefined) {
      // Someone called the service itself: there is nothing to connect them to.
      try { node.declineCall(event.callId, 'not-in-service') } catch {}
      return
    }
    const line: Line = {
      callId: event.callId, user: event.from, number, begun: Promise.resolve(), chargeable: false, answers: true, unanswered: 'NO ANSWER', endWith: 'hangup', timers: [], over: false
    }
    const userLines = [...lines.values()].filter(l => l.user === line.user).length
    lines.set(line.callId, line)
    const begun = cdr.begin({ callId: line.callId, direction: 'outbound', user: line.user, number, startedAt: Date.now() })
    line.begun = begun
    track(begun.then(async result => {
      // A call id this gateway has seen before is another call's: it could not be billed apart.
      if (result === 'duplicate') { refuse(line, 'gateway-failure'); return }
      if (lines.size > init.maxLines || userLines >= MAX_LINES_PER_USER) { refuse(line, 'congestion'); return }
      log.info({ callId: line.callId, user: line.user }, `${line.user} dials ${number}`)
      if (number === ECHO_NUMBER) { answer(line, echoLine(), ECHO_MAX_SECONDS); return }
      await dial(line, lookupNumber(numbers, number))
    }))
  }

  function connected (line: Line): void {
    if (!line.answers) return
    track(line.begun.then(async () => await cdr.answered(line.callId, Date.now())))
    // The credit pays for this much (the free echo line has a cap of its own): then the call is cut, and says why.
    const why: EndReason = line.chargeable ? 'payment-required' : 'hangup'
    if (line.maxSeconds !== undefined) later(line, line.maxSeconds * 1000, () => { try { node.hangup(line.callId, why) } catch {} })
  }

  function ended (line: Line, reason: string): void {
    line.over = true
    lines.delete(line.callId)
    for (const timer of line.timers) clearTimeout(timer)
    track(line.begun.then(async () => {
      const record = await cdr.get(line.callId)
      const answered = record?.answeredAt !== null && record?.answeredAt !== undefined
      await cdr.end(line.callId, { at: Date.now(), disposition: answered ? 'ANSWERED' : line.unanswered, reason, chargeable: line.chargeable && answered })
      // Another gateway answered it: that one's record is the call's; this one stays here only.
      if (reason === 'answered-elsewhere' && !answered) await cdr.reported(line.callId)
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

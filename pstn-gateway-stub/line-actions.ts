// What the gateway does to one line (one call): start something after a while, refuse it as a SIP
// trunk would (outcomes.ts), answer it with its audio. Nothing starts once the call is over.
import type { RunningNode } from '../node/index.js'
import type { Logger } from '../common/logger.js'
import type { CallDisposition } from './cdr/cdr-store.js'
import type { Behaviour } from './numbers/numbers-file.js'
import { describeOutcome, outcomeOf, type GatewayOutcome } from './numbers/outcomes.js'
import type { LineAudio } from './lines/line-audio.js'

/** How often a line that plays to an end (an announcement, the SIT) is checked for having finished. */
const FINISHED_POLL_MS = 100

export type EndReason = NonNullable<Parameters<RunningNode['hangup']>[1]>

export interface Line {
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
  /** The call ended: nothing more is started for it (a timer, an answer after an authorization). */
  over: boolean
}

export function createLineActions (node: RunningNode, log: Logger): {
  later: (line: Line, ms: number, action: () => void) => void
  refuse: (line: Line, what: Behaviour | GatewayOutcome) => void
  answer: (line: Line, audio: LineAudio, maxSeconds?: number) => void
} {
  const later = (line: Line, ms: number, action: () => void): void => {
    if (!line.over) line.timers.push(setTimeout(action, ms))
  }
  /** Ends a call that never answered as a SIP trunk would have (outcomes.ts): its reason, its record's disposition. */
  const refuse = (line: Line, what: Behaviour | GatewayOutcome): void => {
    const outcome = outcomeOf(what)
    line.unanswered = outcome.disposition
    log.info({ callId: line.callId, user: line.user }, `call to ${line.number}: ${describeOutcome(outcome)}`)
    try { node.declineCall(line.callId, outcome.endReason as EndReason) } catch {} // the caller gave up meanwhile
  }
  const answer = (line: Line, audio: LineAudio, maxSeconds?: number): void => {
    if (line.over) return
    line.audio = audio
    // However long the call may last (its credit, the free echo line's cap), counted from the answer.
    if (maxSeconds !== undefined) line.maxSeconds = maxSeconds
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
  return { later, refuse, answer }
}

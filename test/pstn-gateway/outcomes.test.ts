// How a call through the gateway ends: the exact SIP status, Q.850 cause and CDR disposition for
// each behaviour of the numbers file and each ending the gateway causes (RFC 3398's mapping), and
// that every end reason is one the caller's node knows and every disposition one the CDR store keeps.
import { describe, expect, it } from 'vitest'
import { END_REASONS } from '../../node/calls/call-bodies.js'
import { CALL_DISPOSITIONS } from '../../pstn-gateway-stub/cdr/cdr-store.js'
import { BEHAVIOURS, lookupNumber, parseNumbers } from '../../pstn-gateway-stub/numbers/numbers-file.js'
import { CALL_OUTCOMES, GATEWAY_OUTCOMES, describeOutcome, outcomeOf } from '../../pstn-gateway-stub/numbers/outcomes.js'

describe('call outcomes', () => {
  it.each([
    ['echo', 200, 16, 'ANSWERED', 'hangup'],
    ['tone', 200, 16, 'ANSWERED', 'hangup'],
    ['announcement', 200, 16, 'ANSWERED', 'hangup'],
    ['answer-after', 200, 16, 'ANSWERED', 'hangup'],
    ['busy', 486, 17, 'BUSY', 'busy'],
    ['no-answer', 480, 19, 'NO ANSWER', 'no-answer'],
    ['not-in-service', 404, 1, 'FAILED', 'not-in-service'],
    ['congestion', 503, 34, 'CONGESTION', 'congestion'],
    ['payment-required', 402, 21, 'FAILED', 'payment-required'],
    ['cancelled', 487, 16, 'NO ANSWER', 'cancelled'],
    ['gateway-failure', 500, 41, 'FAILED', 'failed']
  ] as const)('%s: SIP %i, Q.850 cause %i, %s, ended %s', (what, sipStatus, q850Cause, disposition, endReason) => {
    expect(outcomeOf(what)).toMatchObject({ sipStatus, q850Cause, disposition, endReason, answered: sipStatus === 200 })
  })

  it('says each the way a trunk writes it', () => {
    expect(describeOutcome(outcomeOf('busy'))).toBe('486 Busy Here (Q.850 cause 17: User busy)')
    expect(describeOutcome(outcomeOf('no-answer'))).toBe('480 Temporarily Unavailable (Q.850 cause 19: No answer from user (user alerted))')
    expect(describeOutcome(outcomeOf('not-in-service'))).toBe('404 Not Found (Q.850 cause 1: Unallocated (unassigned) number)')
    expect(describeOutcome(outcomeOf('congestion'))).toBe('503 Service Unavailable (Q.850 cause 34: No circuit/channel available)')
    expect(describeOutcome(outcomeOf('payment-required'))).toBe('402 Payment Required (Q.850 cause 21: Call rejected)')
    expect(describeOutcome(outcomeOf('echo'))).toBe('200 OK (Q.850 cause 16: Normal call clearing)')
  })

  it('covers every behaviour and every gateway ending, and nothing else', () => {
    expect(Object.keys(CALL_OUTCOMES).sort()).toEqual([...BEHAVIOURS, ...GATEWAY_OUTCOMES].sort())
  })

  it('ends calls only with reasons the node knows and dispositions the CDR store keeps', () => {
    for (const outcome of Object.values(CALL_OUTCOMES)) {
      expect(END_REASONS).toContain(outcome.endReason)
      expect(CALL_DISPOSITIONS).toContain(outcome.disposition)
    }
  })

  it('a number the file does not list ends as not in service: 404, cause 1', () => {
    const table = parseNumbers(JSON.stringify({ numbers: [{ number: '+442079460123', behaviour: 'echo' }] }), 'numbers.json')
    expect(outcomeOf(lookupNumber(table, '+442079460999').behaviour)).toMatchObject({ sipStatus: 404, q850Cause: 1, disposition: 'FAILED' })
  })
})

// The gateway's side of billing. Before a chargeable call connects it asks the login server to
// authorize it (rate by prefix, credit for a minute at least; its answer bounds the call's length);
// after it ends, it asks the login server to charge the connected seconds. A charge is keyed by the
// call id on the login server, so one that may not have arrived (the gateway or the login server
// restarted in between) is simply sent again: it is recorded once. The CDR store remembers which
// charges are still pending across restarts.
import { LoginApiError, LoginClient } from '../common/login-client.js'
import type { Logger } from '../common/logger.js'
import type { CallDetailRecord, CdrStore } from './cdr/cdr-store.js'

/** Records reported per query of the store. */
const REPORT_BATCH = 50
/** The most connected seconds one charge may carry (the login server's bound). */
const MAX_BILLSEC = 86_400

/** A refusal that will not change on a retry (not unreachable, busy, limited or unauthorized). */
const refusedForGood = (err: unknown): boolean =>
  err instanceof LoginApiError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 429

export type Authorization =
  | { ok: true, maxSeconds: number, ratePerMinute: number }
  /** payment-required: not enough credit; congestion: the login server cannot be asked now. */
  | { ok: false, reason: 'payment-required' | 'congestion', message: string }

export interface Billing {
  authorize: (callId: string, user: string, number: string) => Promise<Authorization>
  /**
   * Sends every pending charge (the one just ended, and any a restart left), then the records the
   * login server does not have yet (what users see in their history); failures stay pending, logged.
   */
  settlePending: () => Promise<void>
}

export function createBilling (init: { loginServer: string, serviceToken: string, cdr: CdrStore, log: Logger }): Billing {
  const { serviceToken, cdr, log } = init
  const client = new LoginClient(init.loginServer)
  let settling: Promise<void> | undefined

  /** Charges one call; false when the login server cannot be asked now (the pass stops and tries again later). */
  const settle = async (record: CallDetailRecord): Promise<boolean> => {
    try {
      const billsec = Math.min(record.billsec, MAX_BILLSEC)
      const charge = await client.chargeCall(serviceToken, { callId: record.callId, username: record.user, number: record.number, billsec })
      await cdr.charged(record.callId, charge.cost)
      log.info({ callId: record.callId, user: record.user, billsec: record.billsec, cost: charge.cost, duplicate: charge.duplicate },
        `charged ${record.user} ${charge.cost} for ${record.billsec} s to ${record.number}${charge.duplicate ? ' (charged before: nothing new)' : ''}`)
      return true
    } catch (err) {
      if (refusedForGood(err)) {
        // Sending it again would be refused again: it stays pending (an operator's matter), the others go on.
        log.error({ callId: record.callId, user: record.user }, `the login server refuses to charge call ${record.callId}: ${(err as Error).message}`)
        return true
      }
      log.warn({ callId: record.callId }, `charge for call ${record.callId} not confirmed, kept to send again: ${(err as Error).message}`)
      return false
    }
  }

  /** Reports one record; false when the login server could not take it now. */
  const report = async (record: CallDetailRecord): Promise<boolean> => {
    try {
      await client.reportCall(serviceToken, {
        callId: record.callId,
        username: record.user,
        direction: record.direction,
        number: record.number,
        ...(record.callerNumber === null ? {} : { callerNumber: record.callerNumber }),
        startedAt: record.startedAt,
        ...(record.answeredAt === null ? {} : { answeredAt: record.answeredAt }),
        endedAt: record.endedAt ?? record.startedAt,
        billsec: record.billsec,
        disposition: record.disposition ?? 'FAILED',
        reason: record.reason ?? 'failed'
      })
      await cdr.reported(record.callId)
      return true
    } catch (err) {
      // A record the login server refuses outright (its user was deleted) would be sent forever: it is marked.
      if (refusedForGood(err)) {
        log.warn({ callId: record.callId }, `the login server refused call ${record.callId}'s record, not sent again: ${(err as Error).message}`)
        await cdr.reported(record.callId)
        return true
      }
      log.warn({ callId: record.callId }, `call ${record.callId}'s record not reported yet, kept to send again: ${(err as Error).message}`)
      return false
    }
  }

  return {
    async authorize (callId, user, number) {
      try {
        const answer = await client.authorizeCall(serviceToken, { callId, username: user, number })
        return { ok: true, maxSeconds: answer.maxSeconds, ratePerMinute: answer.ratePerMinute }
      } catch (err) {
        if (err instanceof LoginApiError && err.code === 'payment_required') return { ok: false, reason: 'payment-required', message: err.message }
        log.warn({ callId, user }, `call to ${number} not authorized: the login server could not be asked (${(err as Error).message})`)
        return { ok: false, reason: 'congestion', message: (err as Error).message }
      }
    },
    settlePending () {
      // One pass at a time; a call ending meanwhile is picked up by the next.
      settling ??= (async () => {
        try {
          for (const record of await cdr.pendingCharges()) if (!await settle(record)) return
          for (let batch = await cdr.unreported(REPORT_BATCH); batch.length > 0; batch = await cdr.unreported(REPORT_BATCH)) {
            for (const record of batch) if (!await report(record)) return
          }
        } finally {
          settling = undefined
        }
      })()
      return settling
    }
  }
}

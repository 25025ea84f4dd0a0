// The PSTN gateway: a voxmesh node logged in as the service `pstn`, answering calls to phone
// numbers from its simulated telephone network (numbers/), each line narrowband (lines/), billed
// through the login server (billing.ts), with a call detail record for every attempt (cdr/).
// Several gateways may run: each is a device of `pstn`, so a call rings all of them and the first
// to answer takes it.
import { join } from 'node:path'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createNode, type NodeEvent, type RunningNode } from '../node/index.js'
import type { Logger } from '../common/logger.js'
import { openCdrStore, type CdrStore } from './cdr/cdr-store.js'
import { createBilling, type Billing } from './billing.js'
import { type NumbersTable } from './numbers/numbers-file.js'
import { createDialedCalls, type DialedCalls } from './dialed-calls.js'
import { ALIVE_EVERY_MS, DEFAULT_MAX_LINES, PSTN_USER, SETTLE_RETRY_MS } from './constants.js'


export interface GatewayOptions {
  loginServer: string
  dataDir: string
  serviceToken: string
  numbers: NumbersTable
  log: Logger
  maxLines?: number
  /** One ring of `answer-after` (the UK cadence is 3 s). */
  ringCycleMs?: number
  /** ICE gathers only on this address (tests on one machine). */
  mediaBindAddress?: string
}

export interface RunningGateway {
  node: RunningNode
  cdr: CdrStore
  billing: Billing
  /** Idempotent: hangs up its calls, records them, closes the node and the records. */
  close: () => Promise<void>
}

export async function startGateway (options: GatewayOptions): Promise<RunningGateway> {
  const { log } = options
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const cdr = openCdrStore(join(options.dataDir, 'calls.sqlite'))
  // A gateway that died mid-call finds its calls live: they end as of when it was last alive,
  // answered ones billed to then (not for its downtime), never beyond what was authorized.
  const alive = join(options.dataDir, 'alive')
  const lastAlive = existsSync(alive) ? Number(readFileSync(alive, 'utf8')) : NaN
  const abandoned = await cdr.endAbandoned(Number.isSafeInteger(lastAlive) ? Math.min(Date.now(), lastAlive + ALIVE_EVERY_MS) : Date.now())
  if (abandoned.length > 0) log.warn({ calls: abandoned.length }, `${abandoned.length} call(s) were live when the gateway stopped: recorded as ended at this start`)
  const billing = createBilling({ loginServer: options.loginServer, serviceToken: options.serviceToken, cdr, log })
  let node: RunningNode
  try {
    node = await createNode({
      user: PSTN_USER,
      serviceToken: options.serviceToken,
      loginServer: options.loginServer,
      dataDir: join(options.dataDir, 'node'),
      role: 'host',
      log,
      // Any user may call a phone number; several calls at once, each its own line.
      calls: { anyone: true, callWaiting: true },
      mediaBindAddress: options.mediaBindAddress
    })
  } catch (err) {
    await cdr.close()
    throw err
  }
  const dialed: DialedCalls = createDialedCalls({ node, cdr, billing, numbers: options.numbers, log }, {
    maxLines: options.maxLines ?? DEFAULT_MAX_LINES, ringCycleMs: options.ringCycleMs
  })
  const unsubscribe = node.subscribe((event: NodeEvent) => { dialed.handle(event) })
  void billing.settlePending()
  const retry = setInterval(() => { void billing.settlePending() }, SETTLE_RETRY_MS)
  retry.unref()
  const noteAlive = (): void => { try { writeFileSync(alive, String(Date.now())) } catch (err) { log.warn({}, `cannot note the gateway alive in ${alive}: ${(err as Error).message}`) } }
  noteAlive()
  const aliveTimer = setInterval(noteAlive, ALIVE_EVERY_MS)
  aliveTimer.unref()
  log.info({ numbers: options.numbers.entries.length }, `PSTN gateway up as ${PSTN_USER}: ${options.numbers.entries.length} numbers from ${options.numbers.name}`)

  let closing: Promise<void> | undefined
  return {
    node,
    cdr,
    billing,
    close () {
      closing ??= (async () => {
        clearInterval(retry)
        clearInterval(aliveTimer)
        await node.close()
        await dialed.closed()
        unsubscribe()
        await billing.settlePending()
        await cdr.close()
      })()
      return closing
    }
  }
}

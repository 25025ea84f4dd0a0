// The PSTN gateway stub's named bounds and defaults (the command's help loads this file, none of the gateway).

import { ECHO_LINE, PSTN_SERVICE } from '../common/phone-numbers.js'

/** The service account the gateway logs in as; calls to numbers go to it. */
export const PSTN_USER = PSTN_SERVICE
export const DEFAULT_GATEWAY_DATA_DIR = 'voxmesh-data/pstn-gateway'
/** Calls one gateway carries at once; more are refused as congestion (SIP 503, Q.850 34). */
export const DEFAULT_MAX_LINES = 64
/** Pending charges and unreported records are sent again this often (a login server that was down is back). */
export const SETTLE_RETRY_MS = 30_000
/** The echo test line (`voxmesh call echo`): free, always there. */
export const ECHO_NUMBER = ECHO_LINE
/** One ring of the UK cadence: `answer-after N` answers after N of these. */
export const RING_CYCLE_MS = 3000
/** Lines one user holds at once on a gateway; more are refused as congestion (a member cannot take every line). */
export const MAX_LINES_PER_USER = 2
/** The free echo line hangs up after this long: nobody holds a line for nothing. */
export const ECHO_MAX_SECONDS = 600
/** How often a running gateway notes it is alive: a restart bills calls it left live up to then, not its downtime. */
export const ALIVE_EVERY_MS = 1000

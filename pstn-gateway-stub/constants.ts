// The PSTN gateway stub's named bounds and defaults (the command's help loads this file, none of the gateway).

/** The service account the gateway logs in as; calls to numbers go to it. */
export const PSTN_USER = 'pstn'
export const DEFAULT_GATEWAY_DATA_DIR = 'voxmesh-data/pstn-gateway'
/** Calls one gateway carries at once; more are refused as congestion (SIP 503, Q.850 34). */
export const DEFAULT_MAX_LINES = 64
/** Pending charges and unreported records are sent again this often (a login server that was down is back). */
export const SETTLE_RETRY_MS = 30_000
/** The echo test line (`voxmesh call echo`): free, always there. */
export const ECHO_NUMBER = 'echo'
/** One ring of the UK cadence: `answer-after N` answers after N of these. */
export const RING_CYCLE_MS = 3000

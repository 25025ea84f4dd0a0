// The one error type the DHT throws; `code` says what kind, `message` says exactly what.

export type DhtErrorCode =
  /** A request or response that does not match its schema or bounds. */
  | 'ERR_INVALID_MESSAGE'
  /** A peer whose id or address is malformed, or the local node's own id where a remote one is needed. */
  | 'ERR_INVALID_PEER'
  /** A key/target that is not 64 lowercase hex characters. */
  | 'ERR_INVALID_KEY'
  /** A record that is malformed, expired, too long-lived or refused by validateRecord. */
  | 'ERR_INVALID_RECORD'
  /** A DhtInit value outside its bounds. */
  | 'ERR_INVALID_CONFIG'
  /** An rpc that did not answer within rpcTimeoutMs. */
  | 'ERR_TIMEOUT'
  /** The DHT was closed. */
  | 'ERR_CLOSED'

export class DhtError extends Error {
  readonly code: DhtErrorCode

  constructor (code: DhtErrorCode, message: string) {
    super(message)
    this.name = 'DhtError'
    this.code = code
  }
}

export function isDhtError (error: unknown, code?: DhtErrorCode): error is DhtError {
  return error instanceof DhtError && (code === undefined || error.code === code)
}

// The one error type the TURN module throws. Decoding never throws (bad input from the network
// is a result with a reason); this is for mistakes of the calling code: bad configuration, or
// asking the encoder for something the wire cannot carry.

export type TurnErrorCode =
  /** A TurnServerInit / startTurnServer option outside its bounds. */
  | 'ERR_INVALID_CONFIG'
  /** An argument the encoder or credentials code cannot represent (e.g. a 2000-byte REALM). */
  | 'ERR_INVALID_ARGUMENT'
  /** The server was closed. */
  | 'ERR_CLOSED'

export class TurnError extends Error {
  readonly code: TurnErrorCode

  constructor (code: TurnErrorCode, message: string) {
    super(message)
    this.name = 'TurnError'
    this.code = code
  }
}

export function isTurnError (error: unknown, code?: TurnErrorCode): error is TurnError {
  return error instanceof TurnError && (code === undefined || error.code === code)
}

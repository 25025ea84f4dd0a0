// The logging surface protocol code needs: pino's, so a real pino logger fits,
// and tests can pass a silent one.
export interface Logger {
  debug: (fields: object, msg: string) => void
  info: (fields: object, msg: string) => void
  warn: (fields: object, msg: string) => void
  error: (fields: object, msg: string) => void
  child: (bindings: object) => Logger
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger
}

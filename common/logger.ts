// One-line JSON logs (pino) on stderr, so stdout stays for what a command prints.
// Logger is the surface protocol code needs: pino's, so a real pino logger fits,
// and tests can pass a silent one.
import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino'

export { LOG_LEVELS } from './log-levels.js'

export function loggerOptions (level: string, name: string): LoggerOptions {
  return {
    name,
    level,
    // Secrets never reach the log even when a whole request or object is logged.
    redact: { paths: ['password', '*.password', 'token', '*.token', 'req.headers.authorization'], censor: '[redacted]' }
  }
}

export function createLogger (level: string, name: string): PinoLogger {
  return pino(loggerOptions(level, name), pino.destination(2))
}

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

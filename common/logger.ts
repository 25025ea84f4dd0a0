// One-line JSON logs (pino) on stderr, so stdout stays for what a command prints.
import { pino, type Logger, type LoggerOptions } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function loggerOptions (level: string, name: string): LoggerOptions {
  return {
    name,
    level,
    // Secrets never reach the log even when a whole request or object is logged.
    redact: { paths: ['password', '*.password', 'token', '*.token', 'req.headers.authorization'], censor: '[redacted]' }
  }
}

export function createLogger (level: string, name: string): Logger {
  return pino(loggerOptions(level, name), pino.destination(2))
}

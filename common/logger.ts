// Logs: pino, on stderr, so stdout stays for what a command prints. As one-line
// JSON for machines (--json, or stderr not a terminal), and on a terminal as
// short sentences (`12:01:02 warn  call with bob ended: ...`), formatted here from
// pino's own lines. Logger is the surface protocol code needs: pino's, so a real
// pino logger fits, and tests can pass a silent one.
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

export interface ProgramLogger {
  log: Logger
  /** Whether lines are sentences for a person (stderr is a terminal and JSON was not asked for). */
  human: boolean
  /**
   * Sends the sentences somewhere else for a while (the interactive shell prints them above its prompt);
   * undefined sends them back to stderr. JSON lines always go to stderr.
   */
  redirect: (print: ((line: string) => void) | undefined) => void
}

/** Where a program's pino lines go: stderr as they are, or as sentences when stderr is a terminal and JSON was not asked for. */
export interface ProgramLogDestination {
  stream: { write: (chunk: string) => unknown }
  human: boolean
  redirect: ProgramLogger['redirect']
}

export function programLogDestination (options: { json: boolean, stderr?: NodeJS.WritableStream & { isTTY?: boolean } }): ProgramLogDestination {
  const stderr = options.stderr ?? process.stderr
  if (options.json || stderr.isTTY !== true) {
    return { stream: options.stderr === undefined ? pino.destination(2) : stderr, human: false, redirect: () => {} }
  }
  const toStderr = (line: string): void => { stderr.write(line + '\n') }
  let print = toStderr
  const stream = {
    write (chunk: string): boolean {
      for (const line of chunk.split('\n')) if (line !== '') print(formatLogLine(line))
      return true
    }
  }
  return { stream, human: true, redirect: next => { print = next ?? toStderr } }
}

/** A program's logger: sentences on a terminal, pino JSON lines with `json` or when stderr is not a terminal. */
export function createProgramLogger (level: string, name: string, options: { json: boolean, stderr?: NodeJS.WritableStream & { isTTY?: boolean } }): ProgramLogger {
  const { stream, human, redirect } = programLogDestination(options)
  return { log: pino(loggerOptions(level, name), stream) as unknown as Logger, human, redirect }
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
/** Terminal escapes and other control characters from network text never reach the terminal. */
const CONTROL = /\p{Cc}/gu

/** One pino JSON line as a sentence: local time, level, message (and the error's message when the message lacks it). */
export function formatLogLine (json: string): string {
  let entry: { time?: unknown, level?: unknown, msg?: unknown, err?: { message?: unknown } }
  try {
    entry = JSON.parse(json) as typeof entry
  } catch {
    return json.replace(CONTROL, ' ')
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time) : new Date()
  const clock = [time.getHours(), time.getMinutes(), time.getSeconds()].map(n => String(n).padStart(2, '0')).join(':')
  const level = LEVEL_NAMES[entry.level as number] ?? 'log'
  let text = typeof entry.msg === 'string' ? entry.msg : ''
  const errMessage = typeof entry.err?.message === 'string' ? entry.err.message : undefined
  if (errMessage !== undefined && !text.includes(errMessage)) text = text === '' ? errMessage : `${text}: ${errMessage}`
  return `${clock} ${level.padEnd(5)} ${text.replace(CONTROL, ' ')}`
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

// A Logger that records every line, for tests that check what was logged.
import type { Logger } from '../../common/logger.js'

export interface LogEntry { level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string }

/** A Logger that appends every line (with its child bindings merged into the fields) to `entries`. */
export function recordingLogger (entries: LogEntry[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: LogEntry['level']) => (fields: object, msg: string): void => {
    entries.push({ level, fields: { ...bindings, ...fields }, msg })
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: more => recordingLogger(entries, { ...bindings, ...more })
  }
}

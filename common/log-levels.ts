// The log levels a --log-level flag takes: apart from the logger, so a command's
// definition names them without loading pino.
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

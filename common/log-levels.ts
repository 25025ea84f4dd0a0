// pino's log levels, for --log-level: apart from common/logger.ts so a command's definition does not load pino.
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

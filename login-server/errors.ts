// API errors: always {"error":{"code","message"}} (common/error-body.ts) with one of the codes
// the API declares (LOGIN_ERROR_STATUS in common/login-api.ts).
import { LOGIN_ERROR_STATUS, type LoginErrorCode } from '../common/login-api.js'

export type ErrorCode = LoginErrorCode

export class ApiError extends Error {
  readonly statusCode: number
  constructor (readonly code: ErrorCode, message: string, readonly retryAfterSeconds?: number) {
    super(message)
    this.statusCode = LOGIN_ERROR_STATUS[code]
  }
}

// API errors: always {"error":{"code","message"}} with one of these codes.
export const ERROR_STATUS = {
  invalid_request: 400,
  malformed_json: 400,
  invalid_username: 400,
  weak_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_certificate: 401,
  invalid_signature: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  already_contacts: 409,
  request_exists: 409,
  address_limit: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  unreachable: 422,
  stale_signature: 422,
  rate_limited: 429,
  internal: 500,
  busy: 503
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class ApiError extends Error {
  readonly statusCode: number
  constructor (readonly code: ErrorCode, message: string, readonly retryAfterSeconds?: number) {
    super(message)
    this.statusCode = ERROR_STATUS[code]
  }
}

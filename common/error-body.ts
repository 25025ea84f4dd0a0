// The error body every HTTP API of voxmesh answers with (the login server's and
// a node's control API): {"error":{"code","message"}}. Declared once, with the
// one reader the clients share. Its schema is in error-body-schema.ts: the CLI reads error
// bodies without loading TypeBox.
import type { ErrorBody } from './error-body-schema.js'

export function errorBody (code: string, message: string): ErrorBody {
  return { error: { code, message } }
}

/** The answer to a request no route matches (the query string is left out: it may carry secrets). */
export function noRouteBody (method: string, url: string): ErrorBody {
  return errorBody('not_found', `no route ${method} ${url.split('?')[0]}`)
}

/** The code and message of an error answer; what the body does not say is filled in from the HTTP status. */
export function readErrorBody (status: number, body: unknown): { code: string, message: string } {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined
  const fields = typeof error === 'object' && error !== null ? error as { code?: unknown, message?: unknown } : {}
  return {
    code: typeof fields.code === 'string' ? fields.code : 'http_error',
    message: typeof fields.message === 'string' ? fields.message : `HTTP ${status}`
  }
}

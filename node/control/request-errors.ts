// How the control API refuses a request: the HTTP status and code it answers
// with, for errors of its own and for whatever the node threw.
import type { FastifyError } from 'fastify'
import { UserError } from '../../common/user-error.js'
import { invalidUsernameMessage, normalizeUsername, USERNAME_RULE } from '../../common/usernames.js'
import type { CallAudioOptions } from '../runtime/api.js'
import { MAX_CONTROL_BODY_BYTES } from './constants.js'

/** An error with the HTTP status and code the API answers with. */
export class RequestError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) { super(message) }
}

/** `field` names the request field in the message when it is empty. */
export function requireUsername (input: string, field = 'username'): string {
  const username = normalizeUsername(input)
  if (username === undefined) throw new RequestError(400, 'invalid_username', input.trim() === '' ? invalidUsername(`${field} is empty`) : invalidUsernameMessage(input))
  return username
}

/** A sentence about usernames: what is wrong, then what a username is. */
const invalidUsername = (problem: string): string => `${problem}: usernames are ${USERNAME_RULE}`

/** Request fields (body or path) that hold a username: their schema failures read as username sentences. */
const USERNAME_FIELDS = new Set(['/to', '/username'])

/** Control characters other than tab and newline (terminal escapes, NUL...). */
export const CONTROL_CHARACTERS = /(?![\t\n])\p{Cc}/u

/** --play/--tone/--record/--overwrite as the node takes them: one audio source at most, paths without control characters. */
export function audioOptions (input: { play?: string, tone?: number, record?: string, overwrite?: boolean, mediaPage?: string }): CallAudioOptions {
  if (input.play !== undefined && input.tone !== undefined) throw new RequestError(400, 'invalid_request', 'give play or tone, not both')
  for (const field of ['play', 'record'] as const) {
    const path = input[field]
    if (path !== undefined && /\p{Cc}/u.test(path)) throw new RequestError(400, 'invalid_request', `${field} may not contain control characters`)
  }
  const options: CallAudioOptions = {}
  if (input.play !== undefined) options.play = input.play
  if (input.tone !== undefined) options.tone = input.tone
  if (input.record !== undefined) options.record = input.record
  if (input.overwrite === true) options.overwrite = true
  if (input.mediaPage !== undefined) options.mediaPage = input.mediaPage
  return options
}

/** Maps anything thrown in a request to {status, code, message}. */
export function describeError (err: unknown): { status: number, code: string, message: string } {
  // A command the node refuses ("no such call", "already in a call"): the code names why (calls/errors.ts).
  if (err instanceof UserError) return { status: 400, code: err.code, message: err.message }
  const e = err as Partial<FastifyError> & { status?: unknown }
  // RequestError here, LoginApiError from the login server: their status and code pass through.
  if (typeof e.status === 'number' && e.status >= 400 && e.status <= 599 && typeof e.code === 'string') {
    return { status: e.status, code: e.code, message: e.message ?? e.code }
  }
  if (e.validation !== undefined) {
    // A username too long or empty for the schema: the same sentence as any other bad name (the code stays).
    const failure = e.validation[0]
    if (failure !== undefined && USERNAME_FIELDS.has(failure.instancePath) && (failure.keyword === 'minLength' || failure.keyword === 'maxLength')) {
      const problem = failure.keyword === 'minLength' ? `${failure.instancePath.slice(1)} is empty` : 'that is too long for a username'
      return { status: 400, code: 'invalid_request', message: invalidUsername(problem) }
    }
    return { status: 400, code: 'invalid_request', message: `invalid request: ${e.message ?? ''}` }
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${e.message ?? ''}` }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large', message: `the body exceeds ${MAX_CONTROL_BODY_BYTES} bytes` }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'send JSON with "Content-Type: application/json"' }
  }
  if (err instanceof SyntaxError) return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${err.message}` }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: 'invalid_request', message: e.message ?? 'invalid request' }
  }
  return { status: 500, code: 'internal', message: 'internal error' }
}

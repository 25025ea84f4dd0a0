import { CreateAccountRequest, CreateAccountResponse, ErrorBody } from '../../common/login-api.js'
import { invalidUsernameMessage, normalizeUsername, RESERVED_USERNAMES } from '../../common/usernames.js'
import { addressPrefix } from '../../common/address.js'
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from '../constants.js'
import { ApiError } from '../errors.js'
import type { App, RouteContext } from '../context.js'

/** Username in stored form, or a 400 that says what a valid one looks like. */
export function requireUsername (input: string): string {
  const username = normalizeUsername(input)
  if (username === undefined) throw new ApiError('invalid_username', invalidUsernameMessage(input))
  return username
}

/** Passwords are compared in Unicode NFC, so the same password typed on two keyboards matches. */
export function normalizePassword (password: string): string {
  return password.normalize('NFC')
}

function checkNewPassword (password: string): void {
  if ([...password].length < MIN_PASSWORD_CHARS) throw new ApiError('weak_password', `the password needs at least ${MIN_PASSWORD_CHARS} characters`)
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new ApiError('weak_password', `the password may be at most ${MAX_PASSWORD_BYTES} bytes`)
  // \p{Cc}: C0, DEL and the C1 controls U+0080–U+009F.
  if (/\p{Cc}/u.test(password)) throw new ApiError('weak_password', 'the password may not contain control characters')
}

export function registerAccountRoutes (app: App, ctx: RouteContext): void {
  app.post('/v1/accounts', {
    // Bodies exactly as declared: fastify's default ajv would coerce types
    // (12345 → "12345", ["pw"] → "pw") and silently drop unknown fields.
    schema: { body: CreateAccountRequest, response: { 201: CreateAccountResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const username = requireUsername(request.body.username)
    if (RESERVED_USERNAMES.includes(username)) throw new ApiError('username_taken', `the username "${username}" is reserved for a service`)
    const password = normalizePassword(request.body.password)
    checkNewPassword(password)
    // Counted per network (/24, /64): one person's many addresses share one allowance.
    await ctx.limit('accountsPerIp', addressPrefix(request.ip))
    const hash = await ctx.components.passwords.hash(password)
    if (await ctx.components.store.createAccount(username, hash, ctx.nowSeconds()) === 'taken') {
      throw new ApiError('username_taken', `the username "${username}" is taken`)
    }
    ctx.metrics.accountsCreated.inc()
    request.log.info({ username }, 'account created')
    return await reply.status(201).send({ username })
  })
}

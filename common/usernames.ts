// Usernames: 3–32 characters of [a-z0-9._-], stored lower-case. The one place
// that says what a username is: every program normalises and describes it from here.
import { ECHO_LINE, PSTN_SERVICE } from './phone-numbers.js'

export const USERNAME_PATTERN = /^[a-z0-9._-]{3,32}$/
// Checked on the input *before* lower-casing: String.prototype.toLowerCase maps
// some non-ASCII characters to ASCII (U+212A KELVIN SIGN → "k"), which would
// let look-alike names through.
const USERNAME_INPUT_PATTERN = /^[A-Za-z0-9._-]{3,32}$/

/** Bound on a username as typed: loose on purpose, the receiver normalises it and says what is wrong. */
export const MAX_USERNAME_INPUT_CHARS = 64

/** What a valid username looks like, in words, for error messages and help. */
export const USERNAME_RULE = '3–32 characters of a-z, 0-9, ".", "_" or "-"'

/** Returns the stored (lower-case) form, or undefined when the input is not a valid username. */
export function normalizeUsername (input: string): string | undefined {
  return USERNAME_INPUT_PATTERN.test(input) ? input.toLowerCase() : undefined
}

/** The one sentence for a name that is not a valid username, whoever refuses it (quoted as JSON: no escapes reach a terminal). */
export function invalidUsernameMessage (input: string): string {
  return `${JSON.stringify(input)} is not a valid username: usernames are ${USERNAME_RULE}`
}

/**
 * Names no user may sign up with: `pstn`, the PSTN gateway's service account, and `echo`, the
 * echo test line (`voxmesh call echo`), which the gateway answers. Services are made by the
 * operator (`voxmesh login-server add-service`), never through sign-up.
 */
export const RESERVED_USERNAMES: readonly string[] = [ECHO_LINE, PSTN_SERVICE]

// Usernames: 3–32 characters of [a-z0-9._-], stored lower-case.
export const USERNAME_PATTERN = /^[a-z0-9._-]{3,32}$/
// Checked on the input *before* lower-casing: String.prototype.toLowerCase maps
// some non-ASCII characters to ASCII (U+212A KELVIN SIGN → "k"), which would
// let look-alike names through.
const USERNAME_INPUT_PATTERN = /^[A-Za-z0-9._-]{3,32}$/

/** Returns the stored (lower-case) form, or undefined when the input is not a valid username. */
export function normalizeUsername (input: string): string | undefined {
  return USERNAME_INPUT_PATTERN.test(input) ? input.toLowerCase() : undefined
}

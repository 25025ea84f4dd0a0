// Inbound numbers: which user a phone number rings (Skype's SkypeIn). Kept as one small JSON file
// in the gateway's data dir, written whole and atomically, read with a schema and a size bound.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { writePrivateFileAtomic } from '../common/private-file.js'
import { invalidPhoneNumberMessage, isPhoneNumber, PHONE_NUMBER_PATTERN } from '../common/phone-numbers.js'
import { invalidUsernameMessage, normalizeUsername, USERNAME_PATTERN } from '../common/usernames.js'
import { UserError } from '../common/user-error.js'

export const ASSIGNMENTS_FILE = 'assignments.json'
/** Numbers assigned at most (the file stays small enough to read whole). */
export const MAX_ASSIGNMENTS = 10_000
const MAX_FILE_BYTES = 1024 * 1024

const AssignmentsSchema = Type.Object({
  numbers: Type.Record(Type.String({ pattern: PHONE_NUMBER_PATTERN.source }), Type.String({ pattern: USERNAME_PATTERN.source }))
}, { additionalProperties: false })
const isAssignments = Compile(AssignmentsSchema)

/** number → user, as stored. */
export function readAssignments (dataDir: string): Map<string, string> {
  const file = join(dataDir, ASSIGNMENTS_FILE)
  if (!existsSync(file)) return new Map()
  if (statSync(file).size > MAX_FILE_BYTES) throw new UserError(`${file} is over ${MAX_FILE_BYTES} bytes: not an assignments file this gateway wrote`)
  let parsed: unknown
  try { parsed = JSON.parse(readFileSync(file, 'utf8')) } catch (err) { throw new UserError(`${file} is not valid JSON: ${(err as Error).message}`) }
  if (!isAssignments.Check(parsed)) throw new UserError(`${file} is not an assignments file: expected {"numbers": {"+E164": "username"}}`)
  return new Map(Object.entries(parsed.numbers))
}

/** Assigns `number` to `user` (replacing whoever had it); returns the sentence to print. */
export function assignNumber (dataDir: string, number: string, userInput: string): string {
  if (!isPhoneNumber(number)) throw new UserError(invalidPhoneNumberMessage(number))
  const user = normalizeUsername(userInput)
  if (user === undefined) throw new UserError(invalidUsernameMessage(userInput))
  const assignments = readAssignments(dataDir)
  const previous = assignments.get(number)
  assignments.set(number, user)
  if (assignments.size > MAX_ASSIGNMENTS) throw new UserError(`at most ${MAX_ASSIGNMENTS} numbers can be assigned`)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  writePrivateFileAtomic(join(dataDir, ASSIGNMENTS_FILE), JSON.stringify({ numbers: Object.fromEntries(assignments) }, null, 2) + '\n')
  return previous === undefined || previous === user ? `${number} now rings ${user}` : `${number} now rings ${user} (it rang ${previous})`
}

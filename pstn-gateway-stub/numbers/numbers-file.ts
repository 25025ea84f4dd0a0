// The simulated telephone network's numbers file: which phone numbers exist on it and what each
// does when called (its behaviour: echo, a tone, an announcement, ring then answer, busy, ring
// out, not in service). A JSON file, { "numbers": [ { "number", "behaviour", ...fields, "label" } ] },
// checked entry by entry with typebox schemas, so that a wrong file is refused at start with a
// sentence naming the file and the entry ("numbers.json: entry 3 (+442079460003): "hz" must be
// 100-3400 ...") instead of a call misbehaving later. Every number the file does not list is
// not in service, as on a real network. The gateway ships a default file of fictional numbers
// (default-numbers.json, beside this module in the source tree).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { PHONE_NUMBER_PATTERN, PHONE_NUMBER_RULE, invalidPhoneNumberMessage, isPhoneNumber } from '../../common/phone-numbers.js'
import { UserError } from '../../common/user-error.js'

/** Largest numbers file read, in bytes (1 MiB: about 10,000 entries with labels). */
export const MAX_NUMBERS_FILE_BYTES = 1024 * 1024
/** Most numbers one file may list. */
export const MAX_NUMBERS = 10_000
export const MAX_LABEL_CHARS = 64
/** A tone line's frequency range: what a telephone channel carries (300-3400 Hz), down to 100 Hz for hum tests. */
export const MIN_TONE_HZ = 100
export const MAX_TONE_HZ = 3400
export const MAX_RINGS = 20
/** How long a no-answer line rings before the gateway gives up on it, unless its entry says. */
export const DEFAULT_RING_SECONDS = 60
export const MAX_RING_SECONDS = 300
/** How many times an announcement plays before the line hangs up, unless its entry says. */
export const DEFAULT_ANNOUNCEMENT_PLAYS = 1
export const MAX_ANNOUNCEMENT_PLAYS = 10

export const BEHAVIOURS = ['echo', 'tone', 'announcement', 'answer-after', 'busy', 'no-answer', 'not-in-service'] as const
/** What a number does when called. */
export type Behaviour = typeof BEHAVIOURS[number]
export const isBehaviour = (value: string): value is Behaviour => (BEHAVIOURS as readonly string[]).includes(value)

/** What each behaviour means for the caller, in one sentence (help text, documentation). */
export const BEHAVIOUR_MEANINGS: Readonly<Record<Behaviour, string>> = {
  echo: 'answers at once and sends the caller\'s own audio back',
  tone: 'answers at once and plays a steady tone of "hz" hertz until the caller hangs up',
  announcement: 'answers at once, plays the WAV file "file" ("repeat" times, once unless told), then hangs up',
  'answer-after': 'rings "rings" times, then answers and echoes like an echo line',
  busy: 'plays the busy tone and refuses the call (user busy)',
  'no-answer': 'rings until the caller gives up, or until the gateway does after "ringSeconds" (60 unless told)',
  'not-in-service': 'plays the special information tone (SIT) and ends the call: a number nobody has'
}

/** A field's schema, and what its value must be, in words, for the sentence that refuses a wrong one. */
const field = <S extends TSchema>(schema: S, rule: string) => ({ schema, rule })
/** Printable text only: labels and paths reach terminals (no C0/C1 controls, no bidi overrides). */
const PRINTABLE = '[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]'
const FIELDS = {
  label: field(Type.String({ minLength: 1, maxLength: MAX_LABEL_CHARS, pattern: `^${PRINTABLE}+$` }),
    `text of 1 to ${MAX_LABEL_CHARS} characters, without control characters`),
  hz: field(Type.Integer({ minimum: MIN_TONE_HZ, maximum: MAX_TONE_HZ }), `${MIN_TONE_HZ}-${MAX_TONE_HZ} (hertz, a whole number)`),
  file: field(Type.String({ maxLength: 1024, pattern: `^(?!/)${PRINTABLE}+\\.[Ww][Aa][Vv]$` }),
    'the path of a .wav file, relative to the numbers file\'s folder'),
  repeat: field(Type.Integer({ minimum: 1, maximum: MAX_ANNOUNCEMENT_PLAYS }), `1-${MAX_ANNOUNCEMENT_PLAYS} (how many times the announcement plays)`),
  rings: field(Type.Integer({ minimum: 1, maximum: MAX_RINGS }), `1-${MAX_RINGS} (rings before the line answers, a whole number)`),
  ringSeconds: field(Type.Integer({ minimum: 1, maximum: MAX_RING_SECONDS }), `1-${MAX_RING_SECONDS} (seconds of ringing, a whole number)`)
} as const

const entrySchema = <B extends Behaviour, P extends TProperties>(behaviour: B, fields: P) => Type.Object({
  number: Type.String({ pattern: PHONE_NUMBER_PATTERN.source }),
  behaviour: Type.Literal(behaviour),
  ...fields,
  label: Type.Optional(FIELDS.label.schema)
}, { additionalProperties: false })

export const EchoEntry = entrySchema('echo', {})
export const ToneEntry = entrySchema('tone', { hz: FIELDS.hz.schema })
export const AnnouncementEntry = entrySchema('announcement', { file: FIELDS.file.schema, repeat: Type.Optional(FIELDS.repeat.schema) })
export const AnswerAfterEntry = entrySchema('answer-after', { rings: FIELDS.rings.schema })
export const BusyEntry = entrySchema('busy', {})
export const NoAnswerEntry = entrySchema('no-answer', { ringSeconds: Type.Optional(FIELDS.ringSeconds.schema) })
export const NotInServiceEntry = entrySchema('not-in-service', {})
/** One entry of a numbers file, as written. */
export const NumberEntrySchema = Type.Union([EchoEntry, ToneEntry, AnnouncementEntry, AnswerAfterEntry, BusyEntry, NoAnswerEntry, NotInServiceEntry])

/** One number of the network, as loaded: optional fields filled in with their defaults. */
export type NumberEntry =
  | Static<typeof EchoEntry>
  | Static<typeof ToneEntry>
  | (Static<typeof AnnouncementEntry> & { repeat: number })
  | Static<typeof AnswerAfterEntry>
  | Static<typeof BusyEntry>
  | (Static<typeof NoAnswerEntry> & { ringSeconds: number })
  | Static<typeof NotInServiceEntry>
export type AnnouncementNumber = Extract<NumberEntry, { behaviour: 'announcement' }>

const ENTRY_SCHEMAS: Readonly<Record<Behaviour, TObject>> = {
  echo: EchoEntry,
  tone: ToneEntry,
  announcement: AnnouncementEntry,
  'answer-after': AnswerAfterEntry,
  busy: BusyEntry,
  'no-answer': NoAnswerEntry,
  'not-in-service': NotInServiceEntry
}
type Validator = ReturnType<typeof Compile<TSchema>>
const ENTRY_VALIDATORS = Object.fromEntries(BEHAVIOURS.map(b => [b, Compile(ENTRY_SCHEMAS[b])])) as Record<Behaviour, Validator>

/** The network: its numbers in file order, and by number. */
export interface NumbersTable {
  /** The file, as errors and listings name it (the path as given). */
  readonly name: string
  /** The absolute folder announcement files are relative to: the numbers file's own. */
  readonly folder: string
  readonly entries: readonly NumberEntry[]
  readonly byNumber: ReadonlyMap<string, NumberEntry>
}

/** A numbers file that cannot be used; the message names the file and, where there is one, the entry. */
export class NumbersFileError extends UserError {
  constructor (message: string) {
    super(message, 'bad_numbers_file')
  }
}

/**
 * The shipped default file. tsc compiles this module to dist/pstn-gateway-stub/numbers/numbers-file.js
 * (rootDir ".", outDir dist) and copies no JSON, so the file has one copy, in the source tree: run from
 * source (a .ts module: vitest, tsx) it is beside this module; compiled (a .js module) it is three folders
 * up from it, past dist/, in pstn-gateway-stub/numbers/. Exported for the test that checks both.
 */
export function defaultNumbersFileFor (moduleUrl: string): string {
  const fromSource = new URL(moduleUrl).pathname.endsWith('.ts')
  return fileURLToPath(new URL(fromSource ? './default-numbers.json' : '../../../pstn-gateway-stub/numbers/default-numbers.json', moduleUrl))
}
export const DEFAULT_NUMBERS_FILE = defaultNumbersFileFor(import.meta.url)

const quoted = (text: string): string => JSON.stringify(text.slice(0, 40))
const plural = (count: number, one: string, many = `${one}s`): string => `${count.toLocaleString('en-GB')} ${count === 1 ? one : many}`

/** Why `raw` is not a valid entry (a sentence without the file and entry), or undefined. */
function entryProblem (raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return 'must be an object such as {"number": "+442079460123", "behaviour": "echo"}'
  }
  const record = raw as Record<string, unknown>
  const { number, behaviour } = record
  if (number === undefined) return 'has no "number"'
  if (typeof number !== 'string') return `"number" must be a string: phone numbers are ${PHONE_NUMBER_RULE}`
  if (!isPhoneNumber(number)) return invalidPhoneNumberMessage(number)
  if (behaviour === undefined) return `has no "behaviour" (one of ${BEHAVIOURS.join(', ')})`
  if (typeof behaviour !== 'string' || !isBehaviour(behaviour)) {
    const what = typeof behaviour === 'string' ? `unknown behaviour ${quoted(behaviour)}` : '"behaviour" must be a string'
    return `${what}: the behaviours are ${BEHAVIOURS.join(', ')}`
  }
  const validator = ENTRY_VALIDATORS[behaviour]
  if (validator.Check(raw)) return undefined
  return fieldProblem(behaviour, record, validator)
}

/** Which field of a `behaviour` entry is wrong, and how: an unknown one first, then a missing one, then a bad value. */
function fieldProblem (behaviour: Behaviour, record: Record<string, unknown>, validator: Validator): string {
  const schema = ENTRY_SCHEMAS[behaviour]
  const allowed = Object.keys(schema.properties)
  const unknown = Object.keys(record).find(key => !allowed.includes(key))
  if (unknown !== undefined) {
    return `unknown field ${quoted(unknown)}: a ${behaviour} entry has ${allowed.map(key => `"${key}"`).join(', ')}`
  }
  const rule = (key: string): string => (FIELDS as Record<string, { rule: string } | undefined>)[key]?.rule ?? 'as documented'
  const missing = (schema.required ?? []).find(key => !Object.hasOwn(record, key))
  if (missing !== undefined) return `a ${behaviour} entry needs "${missing}": ${rule(missing)}`
  const error = validator.Errors(record).find(e => e.instancePath.startsWith('/'))
  const key = error?.instancePath.split('/')[1] ?? ''
  return `"${key}" must be ${rule(key)}`
}

/** The entry with its defaults filled in, its fields in one order: number, behaviour, the behaviour's fields, label. */
function loaded (entry: Static<typeof NumberEntrySchema>): NumberEntry {
  const { number } = entry
  const label = entry.label === undefined ? {} : { label: entry.label }
  switch (entry.behaviour) {
    case 'tone': return { number, behaviour: entry.behaviour, hz: entry.hz, ...label }
    case 'announcement': return { number, behaviour: entry.behaviour, file: entry.file, repeat: entry.repeat ?? DEFAULT_ANNOUNCEMENT_PLAYS, ...label }
    case 'answer-after': return { number, behaviour: entry.behaviour, rings: entry.rings, ...label }
    case 'no-answer': return { number, behaviour: entry.behaviour, ringSeconds: entry.ringSeconds ?? DEFAULT_RING_SECONDS, ...label }
    default: return { number, behaviour: entry.behaviour, ...label }
  }
}

/** The top level, `{"numbers": [...]}` and nothing else, or why not. */
function listProblem (value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object, {"numbers": [...]}'
  const unknown = Object.keys(value).find(key => key !== 'numbers')
  if (unknown !== undefined) return `unknown field ${quoted(unknown)}: a numbers file has only "numbers"`
  const { numbers } = value as { numbers?: unknown }
  if (!Array.isArray(numbers)) return '"numbers" must be a list of entries, [{"number": ..., "behaviour": ...}, ...]'
  if (numbers.length > MAX_NUMBERS) return `lists ${plural(numbers.length, 'number')}; a numbers file may list at most ${plural(MAX_NUMBERS, 'number')}`
  return undefined
}

/**
 * Parses the text of a numbers file called `name` (as errors name it). Pure: announcement files are
 * resolved against `folder` (by default the folder of `name`) but not looked for; loadNumbersFile does that.
 */
export function parseNumbers (text: string, name: string, folder: string = dirname(resolve(name))): NumbersTable {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_NUMBERS_FILE_BYTES) {
    throw new NumbersFileError(`${name}: ${plural(bytes, 'byte')}, more than the ${MAX_NUMBERS_FILE_BYTES / 1024 / 1024} MiB a numbers file may have`)
  }
  let value: unknown
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (err) {
    throw new NumbersFileError(`${name}: not valid JSON: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  const problem = listProblem(value)
  if (problem !== undefined) throw new NumbersFileError(`${name}: ${problem}`)
  const entries: NumberEntry[] = []
  const byNumber = new Map<string, NumberEntry>()
  const firstIndex = new Map<string, number>()
  for (const [index, raw] of (value as { numbers: unknown[] }).numbers.entries()) {
    const number = (raw as { number?: unknown } | null)?.number
    const where = `${name}: entry ${index + 1}${typeof number === 'string' && isPhoneNumber(number) ? ` (${number})` : ''}`
    const wrong = entryProblem(raw)
    if (wrong !== undefined) throw new NumbersFileError(`${where}: ${wrong}`)
    const entry = loaded(raw as Static<typeof NumberEntrySchema>)
    const earlier = firstIndex.get(entry.number)
    if (earlier !== undefined) throw new NumbersFileError(`${where}: the number is listed twice, here and in entry ${earlier + 1}`)
    firstIndex.set(entry.number, index)
    byNumber.set(entry.number, entry)
    entries.push(entry)
  }
  return { name, folder, entries, byNumber }
}

/** The absolute path of an announcement entry's WAV file. */
export function announcementPath (table: NumbersTable, entry: AnnouncementNumber): string {
  return resolve(table.folder, entry.file)
}

/** Why the WAV file at `path` cannot be played (missing, a folder, unreadable, not a WAV file), or undefined. */
function wavFileProblem (path: string): string | undefined {
  const head = Buffer.alloc(12)
  let got: number
  try {
    if (!statSync(path).isFile()) return `is not a file: ${path}`
    const fd = openSync(path, 'r')
    try {
      got = readSync(fd, head, 0, head.length, 0)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return `does not exist: no file ${path}`
    return `cannot be read: ${path}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message}`
  }
  const wav = got === head.length && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WAVE'
  return wav ? undefined : `is not a WAV file: ${path}`
}

/** Reads and checks the numbers file at `path`, announcement files included; errors name it as `path`. */
export function loadNumbersFile (path: string): NumbersTable {
  let text: string
  try {
    const stat = statSync(path)
    if (!stat.isFile()) throw new NumbersFileError(`${path}: not a file`)
    if (stat.size > MAX_NUMBERS_FILE_BYTES) {
      throw new NumbersFileError(`${path}: ${plural(stat.size, 'byte')}, more than the ${MAX_NUMBERS_FILE_BYTES / 1024 / 1024} MiB a numbers file may have`)
    }
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (err instanceof NumbersFileError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NumbersFileError(`${path}: no such file`)
    throw new NumbersFileError(`${path}: cannot be read: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message}`)
  }
  const table = parseNumbers(text, path)
  for (const [index, entry] of table.entries.entries()) {
    if (entry.behaviour !== 'announcement') continue
    const problem = wavFileProblem(announcementPath(table, entry))
    if (problem !== undefined) throw new NumbersFileError(`${path}: entry ${index + 1} (${entry.number}): the announcement file ${quoted(entry.file)} ${problem}`)
  }
  return table
}

/** What calling `number` does: its entry, or, for a number the file does not list, not in service. */
export function lookupNumber (table: NumbersTable, number: string): NumberEntry {
  return table.byNumber.get(number) ?? { number, behaviour: 'not-in-service' }
}

// Valid values from a JSON schema (the TypeBox schemas the parsers check against), so the
// fuzzers start from messages the real decoders accept and mutate from there. Covers what the
// project's schemas use: objects, arrays, unions, literals, integers, booleans, null, unknown,
// and strings with a length range and a pattern of character classes with quantifiers.
import type { Rng } from './rng.js'

type Schema = Record<string, unknown>

/** One atom of a simple pattern: the characters it may be and how many times. */
interface Atom { chars: string, min: number, max: number }

const range = (from: number, to: number): string => String.fromCharCode(...Array.from({ length: to - from + 1 }, (_, i) => from + i))

function readChar (source: string, i: number): [string, number] {
  if (source[i] !== '\\') return [source[i] as string, i + 1]
  const next = source[i + 1] as string
  if (next === 'x') return [String.fromCharCode(parseInt(source.slice(i + 2, i + 4), 16)), i + 4]
  return [next, i + 2]
}

function readClass (source: string, start: number): [string, number] {
  let chars = ''
  let i = start + 1
  while (source[i] !== ']') {
    let from: string
    [from, i] = readChar(source, i)
    if (source[i] === '-' && source[i + 1] !== ']') {
      let to: string
      [to, i] = readChar(source, i + 1)
      chars += range(from.charCodeAt(0), to.charCodeAt(0))
    } else {
      chars += from
    }
  }
  return [chars, i + 1]
}

const SIMPLE_CACHE = new Map<string, Atom[] | undefined>()

/** The atoms of `^(class|char)(quantifier)...$`, or undefined for anything fancier (groups, lookaheads). */
function simplePattern (pattern: string): Atom[] | undefined {
  if (SIMPLE_CACHE.has(pattern)) return SIMPLE_CACHE.get(pattern)
  let atoms: Atom[] | undefined = []
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || /[()|]/.test(pattern)) atoms = undefined
  for (let i = 1; atoms !== undefined && i < pattern.length - 1;) {
    let chars: string
    if (pattern[i] === '[') [chars, i] = readClass(pattern, i)
    else [chars, i] = readChar(pattern, i)
    let min = 1
    let max = 1
    const quantifier = /^(?:\{(\d+)(?:,(\d*))?\}|[*+?])/.exec(pattern.slice(i))
    if (quantifier !== null) {
      const [text, lo, hi] = quantifier
      if (text === '*') { min = 0; max = Infinity } else if (text === '+') { min = 1; max = Infinity } else if (text === '?') { min = 0; max = 1 } else {
        min = Number(lo); max = hi === undefined ? min : hi === '' ? Infinity : Number(hi)
      }
      i += text.length
    }
    atoms.push({ chars, min, max })
  }
  SIMPLE_CACHE.set(pattern, atoms)
  return atoms
}

/** A string the schema accepts (pattern and length), or a plain one when the pattern is not simple. */
function validString (rng: Rng, schema: Schema): string {
  if (typeof schema.const === 'string') return schema.const
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : minLength + 40
  const atoms = typeof schema.pattern === 'string' ? simplePattern(schema.pattern) : [{ chars: range(0x20, 0x7e), min: 0, max: Infinity }]
  if (atoms === undefined) return 'x'.repeat(Math.max(1, minLength))
  // Fixed atoms first, then the one open-ended atom (if any) is stretched into the length range.
  const wanted = minLength === maxLength ? minLength : rng.int(minLength, Math.min(maxLength, minLength + rng.pick([4, 16, 64])))
  const fixed = atoms.reduce((sum, atom) => sum + atom.min, 0)
  let spare = Math.max(0, wanted - fixed)
  let out = ''
  for (const atom of atoms) {
    const extra = Math.min(spare, atom.max === Infinity ? spare : atom.max - atom.min)
    spare -= extra
    const count = atom.min + (atom.max === Infinity || minLength === maxLength ? extra : rng.int(0, extra))
    for (let k = 0; k < count; k++) out += rng.pick([...atom.chars])
  }
  return out
}

function validNumber (rng: Rng, schema: Schema): number {
  if (typeof schema.const === 'number') return schema.const
  const min = typeof schema.minimum === 'number' ? schema.minimum : -1000
  const max = typeof schema.maximum === 'number' ? schema.maximum : Math.max(min, 0) + 1_000_000
  const draw = rng.float()
  const value = draw < 0.15 ? min : draw < 0.3 ? max : rng.int(min, Math.min(max, min + 100_000))
  return schema.type === 'integer' ? Math.floor(value) : value + (draw > 0.9 && value < max ? 0.5 : 0)
}

/** A value `schema` accepts (with simple patterns; the caller checks it with the real validator). */
export function validValue (rng: Rng, schema: Schema, depth = 0): unknown {
  if ('const' in schema) return schema.const
  if (Array.isArray(schema.anyOf)) return validValue(rng, rng.pick(schema.anyOf as Schema[]), depth)
  switch (schema.type) {
    case 'object': {
      const required = new Set((schema.required ?? []) as string[])
      const out: Record<string, unknown> = {}
      for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
        if (required.has(key) || rng.bool(0.6)) out[key] = validValue(rng, sub, depth + 1)
      }
      return out
    }
    case 'array': {
      const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0
      const maxItems = typeof schema.maxItems === 'number' ? schema.maxItems : 8
      const count = rng.int(minItems, Math.min(maxItems, minItems + (depth > 3 ? 1 : 4)))
      return Array.from({ length: count }, () => validValue(rng, (schema.items ?? {}) as Schema, depth + 1))
    }
    case 'string': return validString(rng, schema)
    case 'integer': case 'number': return validNumber(rng, schema)
    case 'boolean': return rng.bool()
    case 'null': return null
    default: return anyJson(rng, depth)
  }
}

/** Any JSON value, small (for Type.Unknown() fields). */
function anyJson (rng: Rng, depth = 0): unknown {
  const kind = depth > 3 ? rng.int(0, 3) : rng.int(0, 5)
  switch (kind) {
    case 0: return null
    case 1: return rng.bool()
    case 2: return rng.int(-1e6, 1e6)
    case 3: return validString(rng, {})
    case 4: return Array.from({ length: rng.int(0, 3) }, () => anyJson(rng, depth + 1))
    default: return Object.fromEntries(Array.from({ length: rng.int(0, 3) }, (_, i) => [`k${i}`, anyJson(rng, depth + 1)]))
  }
}

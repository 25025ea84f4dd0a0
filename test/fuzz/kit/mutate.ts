// Mutations of valid messages: structural ones on the decoded value (drop, add, retype, swap,
// stretch, nest, bound numbers, odd unicode), textual ones on its JSON (duplicate keys, deep
// nesting, prototype keys), and byte-level ones on the wire form (flip, cut, extend, splice).
import type { Rng } from './rng.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const BOUND_NUMBERS = [0, -0, -1, 1, 0.5, -1.5, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, 5e-324]
const ODD_STRINGS = [
  '', ' ', '\u0000', '\ud800', '\udfff\ud800', '\u202e\u0645', 'é', 'e\u0301', '\uFEFF', '\u212A', '😀'.repeat(3), '%00', '../..', '__proto__', 'constructor',
  'null', 'true', '0', '-1', '1e999', '{"t":"x"}', 'a'.repeat(33), 'Z'.repeat(257), '\r\n', 'a\u0000b'
]

function clone (value: unknown): Json {
  return value === undefined ? null : JSON.parse(JSON.stringify(value)) as Json
}

function nested (rng: Rng, depth: number): Json {
  let value: Json = rng.bool() ? [] : {}
  for (let i = 0; i < depth; i++) value = rng.bool() ? [value] : { a: value }
  return value
}

/** A value of some other type than the one at hand, with bounds and oddities. */
function oddValue (rng: Rng, around?: Json): Json {
  switch (rng.int(0, 9)) {
    case 0: return null
    case 1: return rng.bool()
    case 2: return rng.pick(BOUND_NUMBERS)
    case 3: return rng.pick(ODD_STRINGS)
    case 4: return typeof around === 'string' ? around.repeat(rng.pick([2, 10, 200])) : 'x'.repeat(rng.pick([1, 100, 5000]))
    case 5: return []
    case 6: return {}
    case 7: return nested(rng, rng.pick([3, 40, 400]))
    case 8: return Array.from({ length: rng.pick([2, 17, 65, 1001]) }, () => clone(around ?? 1))
    default: return typeof around === 'number' ? around + rng.pick([-1, 1, 0.5, 2 ** 53]) : rng.pick(BOUND_NUMBERS)
  }
}

/** Every container (object or array) in `value`, for picking a place to mutate. */
function containers (value: Json, out: Array<Json[] | { [key: string]: Json }> = []): Array<Json[] | { [key: string]: Json }> {
  if (value !== null && typeof value === 'object') {
    out.push(value)
    for (const child of Object.values(value)) containers(child, out)
  }
  return out
}

/** One to three structural mutations of a copy of `value`. */
export function mutateValue (rng: Rng, value: unknown): Json {
  const root = { root: clone(value) } as { [key: string]: Json }
  for (let n = rng.int(1, 3); n > 0; n--) {
    const places = containers(root)
    const place = rng.pick(places)
    const keys = Object.keys(place)
    const key = keys.length === 0 ? undefined : rng.pick(keys)
    const get = (k: string): Json => (place as Record<string, Json>)[k] as Json
    // defineProperty, so a "__proto__" key is an own field (as JSON.parse makes it), not a prototype change
    const set = (k: string, v: Json): void => { Object.defineProperty(place, k, { value: v, enumerable: true, writable: true, configurable: true }) }
    const action = key === undefined ? 1 : rng.int(0, 6)
    if (action === 0 && place !== root) {
      if (Array.isArray(place)) place.splice(Number(key), 1)
      else delete (place as Record<string, Json>)[key as string]
    } else if (action === 1) {
      if (Array.isArray(place)) place.push(oddValue(rng))
      else set(rng.pick(['extra', 't', 'type', '__proto__', 'constructor', 'id', '']), oddValue(rng))
    } else if (action === 2 && key !== undefined) {
      set(key, oddValue(rng, get(key)))
    } else if (action === 3 && keys.length > 1) {
      // a field swap: two fields trade values (often of different types)
      const other = rng.pick(keys)
      const held = get(key as string)
      set(key as string, get(other)); set(other, held)
    } else if (action === 4 && key !== undefined && typeof get(key) === 'string') {
      const text = get(key) as string
      const at = rng.int(0, text.length)
      set(key, text.slice(0, at) + rng.pick(ODD_STRINGS) + text.slice(at + (rng.bool() ? 1 : 0)))
    } else if (action === 5 && key !== undefined && typeof get(key) === 'number') {
      set(key, rng.pick(BOUND_NUMBERS))
    } else if (key !== undefined) {
      set(key, nested(rng, rng.pick([2, 20, 200])))
    }
  }
  return root.root as Json
}

/** JSON text of `value` with a textual twist JSON.stringify would never produce. */
export function mutateText (rng: Rng, text: string): string {
  switch (rng.int(0, 7)) {
    case 7: {
      // A value nested deeper than JSON.stringify can recurse (JSON.parse takes it): only as text.
      const depth = rng.pick([1000, 12000])
      return text.replace(/:("[^"]*"|-?\d+|true|false|null)/, `:${'['.repeat(depth)}$1${']'.repeat(depth)}`)
    }
    case 0: return text.replace('{', `{"${rng.pick(['t', 'type', 'id', '__proto__'])}":${JSON.stringify(oddValue(rng))},`) // duplicate / prototype keys
    case 1: return text.replace(/\{"([^"]+)":/, '{"$1":null,"$1":') // the first key twice
    case 2: return '['.repeat(rng.pick([100, 5000, 20000])) + ']'.repeat(rng.bool(0.8) ? 0 : 1)
    case 3: return `\uFEFF${text}`
    case 4: return text.replace(/:/g, rng.bool() ? ' : ' : ':\n')
    case 5: return text.replace(/"[A-Za-z0-9_-]{4,}"/, `"${'\\u0000'.repeat(rng.int(1, 4))}"`)
    default: return `${text}${rng.pick(['', ' ', '\n', 'x', '{}', ',', '\u0000'])}`
  }
}

/** A byte-level mutation of `bytes` (a new array). */
export function mutateBytes (rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  const at = (): number => rng.int(0, Math.max(0, out.length - 1))
  switch (rng.int(0, 6)) {
    case 0: { for (let n = rng.int(1, 8); n > 0 && out.length > 0; n--) { const i = at(); out[i] = (out[i] as number) ^ (1 << rng.int(0, 7)) } return out }
    case 1: return out.subarray(0, rng.int(0, out.length))
    case 2: return concat(out, rng.bytes(rng.length(4096)))
    case 3: { const i = at(); return concat(out.subarray(0, i), rng.bytes(rng.int(1, 32)), out.subarray(i)) }
    case 4: { for (let n = rng.int(1, 4); n > 0 && out.length > 0; n--) out[at()] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0xc0, 0xed, 0xf4, 0x22, 0x5c]); return out }
    case 5: { const i = at(); const j = rng.int(i, out.length); return concat(out, out.subarray(i, j), out.subarray(i, j)) }
    default: { const i = at(); return concat(out.subarray(0, i), out.subarray(rng.int(i, out.length))) }
  }
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) { out.set(part, offset); offset += part.length }
  return out
}

const encoder = new TextEncoder()

/**
 * A JSON message input from a valid `value`: as is (about one in six), structurally mutated,
 * textually twisted, byte-mutated, or plain random bytes. `encode` is the wire form of a
 * value (default JSON.stringify; the handshake's is canonical JSON).
 */
export function jsonInput (rng: Rng, value: unknown, encode: (value: unknown) => string = JSON.stringify): Uint8Array {
  const r = rng.float()
  if (r < 0.15) return encoder.encode(encode(value))
  if (r < 0.6) return encoder.encode(encode(mutateValue(rng, value)))
  if (r < 0.75) return encoder.encode(mutateText(rng, encode(rng.bool() ? value : mutateValue(rng, value))))
  if (r < 0.95) return mutateBytes(rng, encoder.encode(encode(value)))
  return rng.bytes(rng.length(2048))
}

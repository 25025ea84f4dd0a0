// Canonical encoding of signed objects: signatures cover these exact bytes.
//
// The encoding is UTF-8 JSON with
//   - object keys sorted by UTF-16 code unit order (Array.prototype.sort),
//   - no whitespace,
//   - strings escaped exactly as JSON.stringify escapes them,
//   - numbers only as safe integers (no floats, no exponents, no -0),
// A verifier decodes the bytes, re-encodes them and requires the result to be
// byte-identical, so there is exactly one valid encoding of each value.

export type CanonicalValue = string | number | boolean | CanonicalValue[] | { [key: string]: CanonicalValue }

export function canonicalEncode (value: CanonicalValue): Uint8Array {
  return new TextEncoder().encode(canonicalString(value))
}

function canonicalString (value: CanonicalValue): string {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      throw new TypeError(`canonical encoding allows only safe integers, got ${value}`)
    }
    return String(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalString).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort()
    return `{${keys.map(key => `${JSON.stringify(key)}:${canonicalString(value[key] as CanonicalValue)}`).join(',')}}`
  }
  throw new TypeError(`canonical encoding cannot encode ${value === null ? 'null' : typeof value}`)
}

/** Decodes canonical bytes; returns undefined when they are not valid UTF-8 JSON or not canonical. */
export function canonicalDecode (bytes: Uint8Array): CanonicalValue | undefined {
  let value: CanonicalValue
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    const again = canonicalEncode(value)
    if (again.length !== bytes.length || !again.every((byte, i) => byte === bytes[i])) return undefined
  } catch {
    return undefined
  }
  return value
}

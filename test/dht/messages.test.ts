import { describe, expect, it } from 'vitest'
import {
  MAX_MESSAGE_BYTES, MAX_PEERS_PER_RESPONSE, MAX_RECORDS_PER_RESPONSE, MAX_VALUE_BYTES
} from '../../node/overlay/dht/constants.js'
import { DhtError } from '../../node/overlay/dht/errors.js'
import { keyFor } from '../../node/overlay/dht/ids.js'
import { parseRecord, parseRequest, parseResponse, type DhtRecord } from '../../node/overlay/dht/messages.js'

const KEY = keyFor('alice')
const record = (overrides: Record<string, unknown> = {}): DhtRecord =>
  ({ key: KEY, subkey: 'device-1', value: { supernode: '127.0.0.1:9000' }, seq: 1, expiresAt: 1_900_000_000_000, ...overrides }) as DhtRecord
const peer = (i: number): { id: string, address: string } => ({ id: keyFor(`peer-${i}`), address: `10.0.0.${i % 250}:4000` })

function rejects (fn: () => unknown, code: string, pattern: RegExp): void {
  let thrown: unknown
  try { fn() } catch (error) { thrown = error }
  expect(thrown, 'expected a DhtError').toBeInstanceOf(DhtError)
  expect((thrown as DhtError).code).toBe(code)
  expect((thrown as DhtError).message).toMatch(pattern)
}

describe('request validation', () => {
  it('accepts every well-formed request', () => {
    expect(parseRequest({ t: 'ping' })).toEqual({ t: 'ping' })
    expect(parseRequest({ t: 'find_node', target: KEY })).toEqual({ t: 'find_node', target: KEY })
    expect(parseRequest({ t: 'find_value', key: KEY })).toEqual({ t: 'find_value', key: KEY })
    expect(parseRequest({ t: 'store', record: record() }).t).toBe('store')
  })

  it('rejects what is not a request at all', () => {
    for (const bad of [null, undefined, 42, 'ping', [], [{ t: 'ping' }], {}, { t: 'shutdown' }, { t: 7 }, { t: 'constructor' }, { t: '__proto__' }]) {
      rejects(() => parseRequest(bad), 'ERR_INVALID_MESSAGE', /unknown request type/)
    }
  })

  it('rejects wrong field types and extra fields, naming the field', () => {
    rejects(() => parseRequest({ t: 'find_node' }), 'ERR_INVALID_MESSAGE', /invalid find_node request: .*target/)
    rejects(() => parseRequest({ t: 'find_node', target: 12 }), 'ERR_INVALID_MESSAGE', /\/target/)
    rejects(() => parseRequest({ t: 'ping', extra: true }), 'ERR_INVALID_MESSAGE', /invalid ping request: has unexpected field\(s\) "extra"/)
    rejects(() => parseRequest({ t: 'store', record: record({ seq: -1 }) }), 'ERR_INVALID_MESSAGE', /\/record\/seq/)
    rejects(() => parseRequest({ t: 'store', record: record({ seq: 1.5 }) }), 'ERR_INVALID_MESSAGE', /\/record\/seq/)
    rejects(() => parseRequest({ t: 'store', record: record({ expiresAt: '1' }) }), 'ERR_INVALID_MESSAGE', /\/record\/expiresAt/)
    rejects(() => parseRequest({ t: 'store', record: record({ signature: 'x' }) }), 'ERR_INVALID_MESSAGE', /\/record has unexpected field\(s\) "signature"/)
    const { value: _value, ...withoutValue } = record()
    rejects(() => parseRequest({ t: 'store', record: withoutValue }), 'ERR_INVALID_MESSAGE', /value/)
  })

  it('rejects bad hex ids: uppercase, short, long, non-hex', () => {
    for (const target of [KEY.toUpperCase(), KEY.slice(1), `${KEY}0`, `${KEY.slice(2)}zz`, '']) {
      rejects(() => parseRequest({ t: 'find_node', target }), 'ERR_INVALID_MESSAGE', /\/target must match pattern/)
      rejects(() => parseRequest({ t: 'find_value', key: target }), 'ERR_INVALID_MESSAGE', /\/key must match pattern/)
      rejects(() => parseRequest({ t: 'store', record: record({ key: target }) }), 'ERR_INVALID_MESSAGE', /\/record\/key/)
    }
  })

  it('bounds the subkey', () => {
    expect(parseRequest({ t: 'store', record: record({ subkey: 'x'.repeat(128) }) }).t).toBe('store')
    for (const subkey of ['x'.repeat(129), '', 'has space', 'tab\t', 'é']) {
      rejects(() => parseRequest({ t: 'store', record: record({ subkey }) }), 'ERR_INVALID_MESSAGE', /\/record\/subkey/)
    }
  })

  it('bounds the value to MAX_VALUE_BYTES of JSON', () => {
    const fits = 'x'.repeat(MAX_VALUE_BYTES - 2) // plus two quotes
    expect(parseRequest({ t: 'store', record: record({ value: fits }) }).t).toBe('store')
    rejects(() => parseRequest({ t: 'store', record: record({ value: `${fits}x` }) }), 'ERR_INVALID_MESSAGE', /\/record\/value is 4097 bytes as JSON, more than 4096/)
    // Multi-byte characters count in bytes, not characters.
    rejects(() => parseRequest({ t: 'store', record: record({ value: 'é'.repeat(2100) }) }), 'ERR_INVALID_MESSAGE', /more than 4096/)
  })

  it('rejects values that are not plain JSON', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    let deep: unknown = 1
    for (let i = 0; i < 40; i++) deep = [deep]
    const cases: Array<[unknown, RegExp]> = [
      [Number.NaN, /non-finite number/],
      [{ n: Infinity }, /non-finite number/],
      [undefined, /undefined/],
      [{ f: () => 1 }, /function/],
      [new Date(0), /not plain JSON/],
      [new Map(), /not plain JSON/],
      [10n, /bigint/],
      [circular, /nested deeper/],
      [deep, /nested deeper/]
    ]
    for (const [value, pattern] of cases) {
      rejects(() => parseRequest({ t: 'store', record: record({ value }) }), 'ERR_INVALID_MESSAGE', pattern)
      rejects(() => parseRecord(record({ value })), 'ERR_INVALID_RECORD', pattern)
    }
  })
})

describe('response validation', () => {
  it('accepts well-formed responses of the matching type', () => {
    expect(parseResponse({ t: 'ping' }, { t: 'pong' })).toEqual({ t: 'pong' })
    expect(parseResponse({ t: 'find_node', target: KEY }, { t: 'nodes', peers: [peer(1)] }).t).toBe('nodes')
    expect(parseResponse({ t: 'store', record: record() }, { t: 'stored', ok: false, reason: 'full' }).t).toBe('stored')
    expect(parseResponse({ t: 'find_value', key: KEY }, { t: 'value', records: [record()], peers: [] }).t).toBe('value')
  })

  it('rejects a response of the wrong type for the request', () => {
    rejects(() => parseResponse({ t: 'ping' }, { t: 'nodes', peers: [] }), 'ERR_INVALID_MESSAGE', /expected type "pong", got "nodes"/)
    rejects(() => parseResponse({ t: 'find_value', key: KEY }, { t: 'nodes', peers: [] }), 'ERR_INVALID_MESSAGE', /expected type "value"/)
    rejects(() => parseResponse({ t: 'ping' }, null), 'ERR_INVALID_MESSAGE', /expected type "pong"/)
  })

  it('rejects too many peers or records', () => {
    const peers = Array.from({ length: MAX_PEERS_PER_RESPONSE }, (_, i) => peer(i))
    expect(parseResponse({ t: 'find_node', target: KEY }, { t: 'nodes', peers }).t).toBe('nodes')
    rejects(() => parseResponse({ t: 'find_node', target: KEY }, { t: 'nodes', peers: [...peers, peer(99)] }), 'ERR_INVALID_MESSAGE', /\/peers must not have more than 20 items/)
    const records = Array.from({ length: MAX_RECORDS_PER_RESPONSE + 1 }, (_, i) => record({ subkey: `d${i}` }))
    rejects(() => parseResponse({ t: 'find_value', key: KEY }, { t: 'value', records, peers: [] }), 'ERR_INVALID_MESSAGE', /\/records must not have more than 16 items/)
  })

  it('rejects peers with bad ids or addresses', () => {
    const nodes = (p: unknown): unknown => ({ t: 'nodes', peers: [p] })
    const request = { t: 'find_node' as const, target: KEY }
    rejects(() => parseResponse(request, nodes({ id: 'abc', address: '1.2.3.4:5' })), 'ERR_INVALID_MESSAGE', /\/peers\/0\/id/)
    rejects(() => parseResponse(request, nodes({ id: KEY, address: 'no-port' })), 'ERR_INVALID_MESSAGE', /\/peers\/0\/address: address "no-port" is not host:port/)
    rejects(() => parseResponse(request, nodes({ id: KEY, address: '1.2.3.4:70000' })), 'ERR_INVALID_MESSAGE', /not host:port/)
    rejects(() => parseResponse(request, nodes({ id: KEY, address: 'x'.repeat(300) + ':1' })), 'ERR_INVALID_MESSAGE', /\/peers\/0\/address/)
  })

  it('rejects a value response whose records are valid one by one but too big together', () => {
    const big = 'x'.repeat(MAX_VALUE_BYTES - 2)
    const records = Array.from({ length: MAX_RECORDS_PER_RESPONSE }, (_, i) => record({ subkey: `d${i}`, value: big }))
    rejects(() => parseResponse({ t: 'find_value', key: KEY }, { t: 'value', records, peers: [] }), 'ERR_INVALID_MESSAGE', new RegExp(`more than ${MAX_MESSAGE_BYTES}`))
  })

  it('bounds the refusal reason', () => {
    rejects(() => parseResponse({ t: 'ping' }, { t: 'pong', extra: 1 }), 'ERR_INVALID_MESSAGE', /unexpected field\(s\) "extra"/)
    rejects(() => parseResponse({ t: 'store', record: record() }, { t: 'stored', ok: false, reason: 'r'.repeat(201) }), 'ERR_INVALID_MESSAGE', /\/reason/)
    rejects(() => parseResponse({ t: 'store', record: record() }, { t: 'stored', ok: 'yes' }), 'ERR_INVALID_MESSAGE', /\/ok/)
  })
})

// The simulated network's numbers file: the shipped default (every behaviour it can ship, only
// fictional numbers, found from the source tree and from dist/), each kind of bad file refused with
// a sentence naming the file and the entry, announcement files checked at load, unknown numbers
// not in service, and what `voxmesh pstn-gateway numbers` prints for the default file, both forms.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  BEHAVIOURS, DEFAULT_NUMBERS_FILE, MAX_NUMBERS, MAX_NUMBERS_FILE_BYTES, NumbersFileError,
  announcementPath, defaultNumbersFileFor, loadNumbersFile, lookupNumber, parseNumbers
} from '../../pstn-gateway-stub/numbers/numbers-file.js'
import { behaviourDetail, formatNumbersTable, numbersListJson, spacedNumber } from '../../pstn-gateway-stub/numbers/list.js'

/** The numbers file text of these entries. */
const file = (...numbers: unknown[]): string => JSON.stringify({ numbers })
/** The message parseNumbers refuses `text` with (failing the test if it accepts it). */
function refusal (text: string): string {
  try {
    parseNumbers(text, 'numbers.json')
  } catch (err) {
    expect(err).toBeInstanceOf(NumbersFileError)
    return (err as Error).message
  }
  throw new Error('accepted a bad numbers file')
}
const echo = { number: '+442079460123', behaviour: 'echo' }
const tone = (fields: object): object => ({ number: '+442079460100', behaviour: 'tone', ...fields })
/** Many distinct valid numbers, 40 bytes an entry. */
const manyEntries = (count: number): object[] => Array.from({ length: count }, (_, i) => ({ number: `+4420${7_000_000_00 + i}`, behaviour: 'busy' }))

describe('the default numbers file', () => {
  const table = loadNumbersFile(DEFAULT_NUMBERS_FILE)

  it('loads, and has every behaviour (the announcement\'s WAV ships beside it)', () => {
    const shipped = new Set(table.entries.map(entry => entry.behaviour))
    expect([...BEHAVIOURS].filter(behaviour => !shipped.has(behaviour))).toEqual([])
  })

  it('lists only fictional numbers: the UK drama ranges +44 20 7946 0xxx and +44 7700 900xxx', () => {
    expect(table.entries.length).toBeGreaterThan(0)
    for (const { number } of table.entries) expect(number).toMatch(/^\+44(2079460|7700900)\d{3}$/)
  })

  it('has the echo test on +442079460123, a 1 kHz tone and a line that answers after 3 rings', () => {
    expect(lookupNumber(table, '+442079460123')).toMatchObject({ behaviour: 'echo' })
    expect(table.entries).toContainEqual(expect.objectContaining({ behaviour: 'tone', hz: 1000 }))
    expect(table.entries).toContainEqual(expect.objectContaining({ behaviour: 'answer-after', rings: 3 }))
  })

  it('is found from the source tree and, compiled, from dist/ (tsc copies no JSON)', () => {
    expect(existsSync(DEFAULT_NUMBERS_FILE)).toBe(true)
    const compiled = new URL('../../dist/pstn-gateway-stub/numbers/numbers-file.js', import.meta.url).href
    expect(defaultNumbersFileFor(compiled)).toBe(DEFAULT_NUMBERS_FILE)
  })
})

describe('a bad numbers file is refused, naming the file and the entry', () => {
  it.each([
    ['bad JSON', '{"numbers": [', /^numbers\.json: not valid JSON: /],
    ['not an object', '[]', /^numbers\.json: must be a JSON object/],
    ['an unknown top-level field', JSON.stringify({ numbers: [], extra: 1 }), /^numbers\.json: unknown field "extra"/],
    ['"numbers" not a list', JSON.stringify({ numbers: {} }), /^numbers\.json: "numbers" must be a list/],
    ['an entry not an object', file(echo, 'echo'), /^numbers\.json: entry 2: must be an object/],
    ['a duplicate', file(echo, { ...echo, behaviour: 'busy' }), 'numbers.json: entry 2 (+442079460123): the number is listed twice, here and in entry 1'],
    ['no number', file({ behaviour: 'echo' }), 'numbers.json: entry 1: has no "number"'],
    ['a number that is not a string', file({ number: 442079460123, behaviour: 'echo' }), /^numbers\.json: entry 1: "number" must be a string/],
    ['the number "+"', file({ number: '+', behaviour: 'echo' }), 'numbers.json: entry 1: "+" is not a valid phone number'],
    ['the number "+12"', file({ number: '+12', behaviour: 'echo' }), 'numbers.json: entry 1: "+12" is not a valid phone number'],
    ['a number with letters', file(echo, { number: '+44207946ABCD', behaviour: 'echo' }), 'numbers.json: entry 2: "+44207946ABCD" is not a valid phone number'],
    ['a number of 16 digits', file({ number: '+4420794601234567', behaviour: 'echo' }), 'numbers.json: entry 1: "+4420794601234567" is not a valid phone number'],
    ['no behaviour', file({ number: '+442079460123' }), 'numbers.json: entry 1 (+442079460123): has no "behaviour"'],
    ['an unknown behaviour', file({ ...echo, behaviour: 'ringback' }), 'numbers.json: entry 1 (+442079460123): unknown behaviour "ringback": the behaviours are echo, tone,'],
    ['hz below 100', file(tone({ hz: 99 })), 'numbers.json: entry 1 (+442079460100): "hz" must be 100-3400'],
    ['hz above 3400', file(tone({ hz: 3401 })), 'numbers.json: entry 1 (+442079460100): "hz" must be 100-3400'],
    ['hz not whole', file(tone({ hz: 1000.5 })), 'numbers.json: entry 1 (+442079460100): "hz" must be 100-3400'],
    ['a tone without hz', file(tone({})), 'numbers.json: entry 1 (+442079460100): a tone entry needs "hz": 100-3400'],
    ['an unknown field', file(tone({ hz: 1000, volume: 3 })), 'numbers.json: entry 1 (+442079460100): unknown field "volume": a tone entry has "number", "behaviour", "hz", "label"'],
    ['a field of another behaviour', file({ ...echo, rings: 3 }), 'numbers.json: entry 1 (+442079460123): unknown field "rings"'],
    ['0 rings', file({ ...echo, behaviour: 'answer-after', rings: 0 }), '"rings" must be 1-20'],
    ['21 rings', file({ ...echo, behaviour: 'answer-after', rings: 21 }), 'numbers.json: entry 1 (+442079460123): "rings" must be 1-20'],
    ['ringSeconds 0', file({ ...echo, behaviour: 'no-answer', ringSeconds: 0 }), 'numbers.json: entry 1 (+442079460123): "ringSeconds" must be 1-300'],
    ['a label of 65 characters', file({ ...echo, label: 'x'.repeat(65) }), 'numbers.json: entry 1 (+442079460123): "label" must be text of 1 to 64 characters'],
    ['a label with a control character', file({ ...echo, label: 'echo\u001b[2J' }), '"label" must be text of 1 to 64 characters, without control characters'],
    ['an absolute announcement path', file({ ...echo, behaviour: 'announcement', file: '/tmp/a.wav' }), '"file" must be the path of a .wav file, relative to'],
    ['an announcement that is not .wav', file({ ...echo, behaviour: 'announcement', file: 'a.mp3' }), 'numbers.json: entry 1 (+442079460123): "file" must be the path of a .wav file'],
    ['repeat 0', file({ ...echo, behaviour: 'announcement', file: 'a.wav', repeat: 0 }), '"repeat" must be 1-10']
  ])('%s', (_, text, expected) => {
    const message = refusal(text)
    if (typeof expected === 'string') expect(message).toContain(expected)
    else expect(message).toMatch(expected)
  })

  it('a file over 1 MiB, whether parsed or loaded', () => {
    const text = file(echo) + ' '.repeat(MAX_NUMBERS_FILE_BYTES)
    expect(refusal(text)).toMatch(/^numbers\.json: 1,048,\d{3} bytes, more than the 1 MiB a numbers file may have$/)
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-numbers-'))
    try {
      writeFileSync(join(dir, 'numbers.json'), text)
      expect(() => loadNumbersFile(join(dir, 'numbers.json'))).toThrow(/numbers\.json: 1,048,\d{3} bytes, more than the 1 MiB/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('more than 10,000 numbers (10,000 pass)', () => {
    expect(parseNumbers(file(...manyEntries(MAX_NUMBERS)), 'numbers.json').entries).toHaveLength(MAX_NUMBERS)
    expect(refusal(file(...manyEntries(MAX_NUMBERS + 1)))).toBe('numbers.json: lists 10,001 numbers; a numbers file may list at most 10,000 numbers')
  })

  it('a file that is not there', () => {
    expect(() => loadNumbersFile('/nonexistent/numbers.json')).toThrow('/nonexistent/numbers.json: no such file')
  })
})

describe('lookup', () => {
  const table = parseNumbers(file(echo, { number: '+442079460480', behaviour: 'no-answer' }, { number: '+442079460500', behaviour: 'announcement', file: 'a.wav' }), 'numbers.json')

  it('an unknown number is not in service', () => {
    expect(lookupNumber(table, '+442079460999')).toEqual({ number: '+442079460999', behaviour: 'not-in-service' })
  })

  it('a listed number is its entry, with defaults filled in', () => {
    expect(lookupNumber(table, '+442079460123')).toEqual(echo)
    expect(lookupNumber(table, '+442079460480')).toEqual({ number: '+442079460480', behaviour: 'no-answer', ringSeconds: 60 })
    expect(lookupNumber(table, '+442079460500')).toEqual({ number: '+442079460500', behaviour: 'announcement', file: 'a.wav', repeat: 1 })
  })
})

describe('announcement files, checked at load', () => {
  let dir: string
  const entry = { number: '+442079460500', behaviour: 'announcement', file: 'announcements/number-changed.wav' }
  const numbersFile = (): string => join(dir, 'numbers.json')
  /** A WAV header with no samples: enough for the load-time check. */
  const wavHeader = (): Buffer => {
    const head = Buffer.alloc(44)
    head.write('RIFF', 0, 'latin1'); head.writeUInt32LE(36, 4); head.write('WAVEfmt ', 8, 'latin1'); head.write('data', 36, 'latin1')
    return head
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'voxmesh-numbers-'))
    writeFileSync(numbersFile(), file(echo, entry))
  })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  it('a missing one is refused, naming the entry and the file looked for', () => {
    expect(() => loadNumbersFile(numbersFile())).toThrow(
      `${numbersFile()}: entry 2 (+442079460500): the announcement file "announcements/number-changed.wav" does not exist: no file ${join(dir, 'announcements/number-changed.wav')}`)
  })

  it('one that is not a WAV file is refused', () => {
    mkdirSync(join(dir, 'announcements'))
    writeFileSync(join(dir, 'announcements/number-changed.wav'), 'ID3 not a wav file')
    expect(() => loadNumbersFile(numbersFile())).toThrow(/entry 2 \(\+442079460500\): the announcement file "announcements\/number-changed\.wav" is not a WAV file/)
  })

  it('one that is there is found relative to the numbers file', () => {
    mkdirSync(join(dir, 'announcements'))
    writeFileSync(join(dir, 'announcements/number-changed.wav'), wavHeader())
    const table = loadNumbersFile(numbersFile())
    const loaded = lookupNumber(table, '+442079460500')
    if (loaded.behaviour !== 'announcement') throw new Error('not an announcement')
    expect(announcementPath(table, loaded)).toBe(join(dir, 'announcements/number-changed.wav'))
    expect(behaviourDetail(loaded)).toBe('plays announcements/number-changed.wav, then hangs up')
  })
})

describe('the listing of the default file', () => {
  const table = loadNumbersFile(DEFAULT_NUMBERS_FILE)

  it('for people: numbers spaced for reading, behaviour, detail, label', () => {
    expect(formatNumbersTable(table)).toBe([
      'NUMBER            BEHAVIOUR       DETAIL                                                 LABEL',
      '+44 20 7946 0123  echo            echoes the caller\'s audio                              echo test',
      '+44 20 7946 0100  tone            1000 Hz                                                1 kHz test tone',
      '+44 20 7946 0440  tone            440 Hz                                                 440 Hz tone (A4)',
      '+44 20 7946 0300  answer-after    answers after 3 rings                                  slow to answer',
      '+44 20 7946 0486  busy            busy tone                                              always busy',
      '+44 20 7946 0480  no-answer       rings for 60 s                                         nobody home',
      '+44 20 7946 0404  not-in-service  special information tone, then ends                    number not in service',
      '+44 20 7946 0410  announcement    plays announcements/number-changed.wav, then hangs up  number changed (recorded)',
      '+44 7700 900123   echo            echoes the caller\'s audio                              mobile echo test',
      '+44 7700 900300   answer-after    answers after 6 rings                                  mobile, slow to answer',
      '+44 7700 900486   busy            busy tone                                              mobile, busy',
      '+44 7700 900480   no-answer       rings for 30 s                                         mobile, nobody answers',
      '+44 7700 900404   not-in-service  special information tone, then ends                    mobile, not in service'
    ].join('\n'))
  })

  it('for programs: [{number, behaviour, ...fields, label}], defaults filled in, in file order', () => {
    const json = JSON.stringify(numbersListJson(table))
    expect(JSON.parse(json)).toEqual([
      { number: '+442079460123', behaviour: 'echo', label: 'echo test' },
      { number: '+442079460100', behaviour: 'tone', hz: 1000, label: '1 kHz test tone' },
      { number: '+442079460440', behaviour: 'tone', hz: 440, label: '440 Hz tone (A4)' },
      { number: '+442079460300', behaviour: 'answer-after', rings: 3, label: 'slow to answer' },
      { number: '+442079460486', behaviour: 'busy', label: 'always busy' },
      { number: '+442079460480', behaviour: 'no-answer', ringSeconds: 60, label: 'nobody home' },
      { number: '+442079460404', behaviour: 'not-in-service', label: 'number not in service' },
      { number: '+442079460410', behaviour: 'announcement', file: 'announcements/number-changed.wav', repeat: 1, label: 'number changed (recorded)' },
      { number: '+447700900123', behaviour: 'echo', label: 'mobile echo test' },
      { number: '+447700900300', behaviour: 'answer-after', rings: 6, label: 'mobile, slow to answer' },
      { number: '+447700900486', behaviour: 'busy', label: 'mobile, busy' },
      { number: '+447700900480', behaviour: 'no-answer', ringSeconds: 30, label: 'mobile, nobody answers' },
      { number: '+447700900404', behaviour: 'not-in-service', label: 'mobile, not in service' }
    ])
    // Key order is part of the format: number, behaviour, the behaviour's fields, label.
    expect(json.startsWith('[{"number":"+442079460123","behaviour":"echo","label":"echo test"},{"number":"+442079460100","behaviour":"tone","hz":1000,')).toBe(true)
  })

  it('spaces other plans it knows, and leaves the rest as written', () => {
    expect(spacedNumber('+441632960123')).toBe('+44 1632 960123')
    expect(spacedNumber('+12125550123')).toBe('+1 212 555 0123')
    expect(spacedNumber('+33123456789')).toBe('+33123456789')
  })

  it('an empty file says every number is not in service', () => {
    expect(formatNumbersTable(parseNumbers(file(), 'numbers.json'))).toBe('no numbers in numbers.json: every number is not in service')
  })
})

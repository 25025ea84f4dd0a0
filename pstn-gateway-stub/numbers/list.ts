// What `voxmesh pstn-gateway numbers [--numbers FILE] [--json]` prints: the numbers of the simulated
// network, each with what calling it does. For people, a table in file order (the number spaced as
// it is read aloud, the behaviour, its detail, the label); with --json, one array of the entries as
// loaded ({number, behaviour, ...its fields with defaults filled in, label}) for programs. Pure
// functions of the loaded table: the command reads the file and writes the text.
import type { NumberEntry, NumbersTable } from './numbers-file.js'

/** Groups of digits after the country code, for the number plans the default network uses. */
function nationalGroups (country: string, national: string): number[] | undefined {
  if (country === '44' && national.length === 10) {
    // UK: London and other 02x areas as 2 4 4 ("+44 20 7946 0123"), the rest (mobiles, 01, 03) as 4 6.
    return national.startsWith('2') ? [2, 4, 4] : [4, 6]
  }
  if (country === '1' && national.length === 10) return [3, 3, 4]
  return undefined
}

/**
 * The number as it is written for reading: "+442079460123" → "+44 20 7946 0123", "+447700900123" →
 * "+44 7700 900123"; in the North American plan "+1 212 555 0123". Other numbers stay as they are.
 */
export function spacedNumber (number: string): string {
  for (const country of ['1', '44']) {
    if (!number.startsWith(`+${country}`)) continue
    const national = number.slice(1 + country.length)
    const groups = nationalGroups(country, national)
    if (groups === undefined) return number
    let at = 0
    const parts = groups.map(size => national.slice(at, (at += size)))
    return [`+${country}`, ...parts].join(' ')
  }
  return number
}

/** What the behaviour does, with its fields: "1000 Hz", "answers after 3 rings". */
export function behaviourDetail (entry: NumberEntry): string {
  switch (entry.behaviour) {
    case 'echo': return 'echoes the caller\'s audio'
    case 'tone': return `${entry.hz} Hz`
    case 'announcement': return `plays ${entry.file}${entry.repeat > 1 ? ` ${entry.repeat} times` : ''}, then hangs up`
    case 'answer-after': return `answers after ${entry.rings} ring${entry.rings === 1 ? '' : 's'}`
    case 'busy': return 'busy tone'
    case 'no-answer': return `rings for ${entry.ringSeconds} s`
    case 'not-in-service': return 'special information tone, then ends'
  }
}

/** The human listing: a header line, then one aligned line per number, in file order. */
export function formatNumbersTable (table: NumbersTable): string {
  if (table.entries.length === 0) return `no numbers in ${table.name}: every number is not in service`
  const header = ['NUMBER', 'BEHAVIOUR', 'DETAIL', 'LABEL']
  const rows = table.entries.map(entry => [spacedNumber(entry.number), entry.behaviour, behaviourDetail(entry), entry.label ?? '-'])
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map(row => (row[i] as string).length)))
  return all.map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)).join('  ')).join('\n')
}

/** The --json listing: the entries as loaded (number, behaviour, its fields, label), for JSON.stringify. */
export function numbersListJson (table: NumbersTable): NumberEntry[] {
  return table.entries.map(entry => ({ ...entry }))
}

// The child processes the call bench forks (CHILD_ENTRY in util.ts), one of:
//   --series-child KIND --count N --data-dir DIR --ring-ms MS   one series of part 1 (series.ts)
//   --turn-child | --forwarder-child --max-streams N   a relay of part 3 (relay-servers.ts)
import { parseArgs } from 'node:util'
import { relayChild } from './relay-servers.js'
import { seriesChild, type SeriesKind } from './series.js'
import { DEFAULT_RING_MS } from './util.js'

const { values: flags } = parseArgs({
  options: {
    'turn-child': { type: 'boolean', default: false },
    'forwarder-child': { type: 'boolean', default: false },
    'max-streams': { type: 'string' },
    'series-child': { type: 'string' },
    count: { type: 'string' },
    'data-dir': { type: 'string' },
    'ring-ms': { type: 'string', default: DEFAULT_RING_MS }
  }
})

if (flags['turn-child'] || flags['forwarder-child']) {
  await relayChild(flags['turn-child'] ? 'turn' : 'forwarder', Number(flags['max-streams']))
} else if (flags['series-child'] !== undefined) {
  try {
    await seriesChild(flags['series-child'] as SeriesKind, Number(flags.count), String(flags['data-dir']), Number(flags['ring-ms']))
  } catch (err) {
    process.stderr.write(`call-bench (${flags['series-child']}): ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
} else {
  process.stderr.write('call-bench: child.js is forked by bench/calls/main.js, not run by hand\n')
  process.exitCode = 2
}

// The node's log sentences in the interactive shell: printed above the prompt
// while the shell runs (never in the middle of the line being typed), handed
// back when it ends.
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { runShell } from '../../node/control/shell.js'
import { FakeNodeApi } from './fake-node-api.js'
import { waitUntil } from '../helpers/wait.js'

describe('log lines in the shell', () => {
  it('go above the prompt while the shell runs, and elsewhere once it ended', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let text = ''
    output.on('data', (chunk: Buffer) => { text += chunk.toString() })
    const printers: Array<((line: string) => void) | undefined> = []
    const done = runShell(new FakeNodeApi('alice'), { input, output, showLogs: print => { printers.push(print) } })
    await waitUntil('the prompt', () => text.includes('voxmesh(alice)> '), 5000)
    const printAbove = printers[0]
    expect(printAbove).toBeTypeOf('function')
    input.write('sta') // typed so far, not yet entered
    printAbove?.('12:01:02 warn  call with bob ended: lost')
    expect(text).toMatch(/\n12:01:02 warn {2}call with bob ended: lost\n(voxmesh\(alice\)> )+$/)
    input.end('\n')
    await done
    expect(printers).toEqual([printAbove, undefined])
  })
})

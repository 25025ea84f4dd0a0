// Logs on a terminal are sentences, elsewhere (or with --json) pino JSON lines.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createProgramLogger, formatLogLine } from '../../common/logger.js'

/** A stderr stand-in that keeps what was written, a terminal or not. */
function fakeStderr (isTTY: boolean): Writable & { isTTY: boolean, text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { chunks.push(chunk.toString()); done() } })
  return Object.assign(stream, { isTTY, text: () => chunks.join('') })
}

const pinoLine = (fields: object): string => JSON.stringify({ level: 40, time: new Date(2026, 0, 1, 12, 1, 2).getTime(), pid: 1, hostname: 'h', name: 'node', ...fields })

describe('formatLogLine', () => {
  it('makes a pino line a sentence: local time, level, message', () => {
    expect(formatLogLine(pinoLine({ msg: 'call with bob ended: lost' }))).toBe('12:01:02 warn  call with bob ended: lost')
    expect(formatLogLine(pinoLine({ level: 30, msg: 'logged in', user: 'alice' }))).toBe('12:01:02 info  logged in')
  })

  it('adds the error\'s message when the message lacks it, and strips control characters', () => {
    expect(formatLogLine(pinoLine({ level: 50, msg: 'control request failed', err: { message: 'boom', stack: 'x' } }))).toBe('12:01:02 error control request failed: boom')
    expect(formatLogLine(pinoLine({ msg: 'from \u001b[31mmallory\u0007' }))).toBe('12:01:02 warn  from  [31mmallory ')
  })
})

describe('createProgramLogger', () => {
  it('on a terminal writes sentences, never JSON', async () => {
    const stderr = fakeStderr(true)
    const { log, human } = createProgramLogger('info', 'node', { json: false, stderr })
    log.child({ node: 'alice' }).warn({ attempt: 2 }, 'waiting for the login server at http://x (retrying in 2 s)')
    log.debug({}, 'not at this level')
    expect(human).toBe(true)
    expect(stderr.text()).toMatch(/^\d\d:\d\d:\d\d warn {2}waiting for the login server at http:\/\/x \(retrying in 2 s\)\n$/)
  })

  it('writes pino JSON lines with --json, or when stderr is not a terminal', async () => {
    for (const [json, isTTY] of [[true, true], [false, false]] as Array<[boolean, boolean]>) {
      const stderr = fakeStderr(isTTY)
      const { log, human } = createProgramLogger('info', 'node', { json, stderr })
      log.warn({ attempt: 2 }, 'waiting')
      await new Promise(resolve => setImmediate(resolve))
      expect(human).toBe(false)
      expect(JSON.parse(stderr.text())).toMatchObject({ level: 40, msg: 'waiting', attempt: 2, name: 'node' })
    }
  })

  it('sends sentences to another printer while redirected (the shell prints them above its prompt), then back', () => {
    const stderr = fakeStderr(true)
    const { log, redirect } = createProgramLogger('info', 'node', { json: false, stderr })
    const above: string[] = []
    redirect(line => { above.push(line) })
    log.warn({}, 'in the shell')
    redirect(undefined)
    log.warn({}, 'after the shell')
    expect(above).toEqual([expect.stringMatching(/ warn {2}in the shell$/)])
    expect(stderr.text()).toMatch(/ warn {2}after the shell\n$/)
  })
})

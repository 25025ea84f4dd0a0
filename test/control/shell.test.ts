// The interactive shell driven through PassThrough streams, against the fake node.
import { afterEach, describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { runShell } from '../../node/control/shell.js'
import { FakeNodeApi } from './fake-node-api.js'
import { waitUntil } from '../helpers/wait.js'

interface Session {
  api: FakeNodeApi
  input: PassThrough
  /** Everything the shell printed so far. */
  output: () => string
  type: (line: string) => void
  /** Waits until the output (after `from`) matches. */
  expectOutput: (pattern: RegExp | string, from?: number) => Promise<void>
  done: Promise<void>
}

const sessions: Session[] = []
afterEach(async () => {
  for (const session of sessions.splice(0)) {
    session.input.end()
    await session.done
  }
})

function startShell (api = new FakeNodeApi('alice')): Session {
  const input = new PassThrough()
  const out = new PassThrough()
  let text = ''
  out.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const done = runShell(api, { input, output: out })
  const session: Session = {
    api,
    input,
    output: () => text,
    type: line => { input.write(line + '\n') },
    expectOutput: async (pattern, from = 0) => {
      const matches = (): boolean => typeof pattern === 'string' ? text.slice(from).includes(pattern) : pattern.test(text.slice(from))
      await waitUntil(`output matching ${String(pattern)}; got:\n${text}`, matches, 5000).catch(() => {
        throw new Error(`no output matching ${String(pattern)}; got:\n${text}`)
      })
    },
    done
  }
  sessions.push(session)
  return session
}

describe('the shell', () => {
  it('shows a prompt with the user name', async () => {
    const shell = startShell()
    await shell.expectOutput('voxmesh(alice)> ')
  })

  it('lists contacts with their statuses', async () => {
    const shell = startShell()
    shell.api.addFakeContact('bob', 'online')
    shell.api.addFakeContact('carol', 'away')
    shell.api.addFakeContact('dave', 'offline')
    shell.type('contacts')
    await shell.expectOutput(/dave\s+offline/)
    expect(shell.output()).toMatch(/bob\s+online\s+\(contact since /)
    expect(shell.output()).toMatch(/carol\s+away/)
    // Online first.
    expect(shell.output().indexOf('bob')).toBeLessThan(shell.output().indexOf('dave'))
  })

  it('prints "queued, bob is offline" when a message cannot reach bob yet', async () => {
    const shell = startShell()
    shell.api.messageResults.set('bob', { status: 'queued', id: 'x', reason: 'offline' })
    shell.type('msg bob hi')
    await shell.expectOutput('queued, bob is offline')
    expect(shell.api.sent).toEqual([{ to: 'bob', text: 'hi' }])
  })

  it('shows a conversation with messages NAME, and what no conversation looks like', async () => {
    const shell = startShell()
    const at = Date.now()
    shell.api.history.push({ id: '1', peer: 'bob', direction: 'in', text: 'ping', state: 'received', writtenAt: at, sentAt: at, deliveredAt: at })
    shell.type('messages bob')
    await shell.expectOutput(/\[\d\d:\d\d\] bob: ping/)
    shell.type('messages carol')
    await shell.expectOutput('no messages with carol yet')
  })

  it('sends the whole rest of the line as the message, and prints the receipt time', async () => {
    const shell = startShell()
    shell.type('msg Bob hello there,   friend')
    await shell.expectOutput('delivered to bob (12 ms)')
    expect(shell.api.sent).toEqual([{ to: 'bob', text: 'hello there,   friend' }])
    shell.api.messageResults.set('carol', { status: 'sent', id: 'y' })
    shell.type('msg carol hi')
    await shell.expectOutput('sent to carol, no receipt yet')
  })

  it('prints events above the prompt as they come', async () => {
    const shell = startShell()
    await shell.expectOutput('voxmesh(alice)> ')
    shell.api.emit({ event: 'presence', user: 'bob', status: 'away' })
    await shell.expectOutput('* bob is now away')
    shell.api.emit({ event: 'message', from: 'bob', id: 'm1', text: 'hi alice', sentAt: Date.now(), writtenAt: Date.now() })
    await shell.expectOutput(/\[\d\d:\d\d\] bob: hi alice/)
    shell.api.emit({ event: 'contact-request', from: 'carol', message: 'it is carol' })
    await shell.expectOutput('* contact request from carol: "it is carol"')
    // The prompt comes back after each event.
    expect(shell.output().trimEnd().endsWith('voxmesh(alice)>')).toBe(true)
  })

  it('makes message text from others safe for the terminal', async () => {
    const shell = startShell()
    shell.api.emit({ event: 'message', from: 'mallory', id: 'm1', text: 'x\u001b[2Jy\rz', sentAt: Date.now(), writtenAt: Date.now() })
    await shell.expectOutput('mallory: x\uFFFD[2Jy\uFFFDz')
    expect(shell.output()).not.toContain('\u001b')
  })

  it('runs the contact commands', async () => {
    const shell = startShell()
    shell.api.addIncomingRequest('bob', 'hey')
    shell.api.addIncomingRequest('erin')
    shell.type('requests')
    await shell.expectOutput(/incoming[^\n]*\n\s+bob\s.*"hey"/)
    shell.type('accept bob')
    await shell.expectOutput('bob is now your contact')
    shell.type('decline erin')
    await shell.expectOutput('declined the contact request from erin')
    shell.type('add carol would you add me?')
    await shell.expectOutput('contact request sent to carol')
    shell.type('remove bob')
    await shell.expectOutput('removed bob from your contacts')
    shell.type('block mallory')
    await shell.expectOutput('blocked mallory')
    shell.type('unblock mallory')
    await shell.expectOutput('unblocked mallory')
    expect(shell.api.invocations.filter(c => !['status', 'contacts', 'calls'].includes(c))).toEqual([
      'requests', 'acceptContact bob', 'declineContact erin', 'addContact carol would you add me?', 'removeContact bob', 'block mallory', 'unblock mallory'
    ])
  })

  it('sets and shows presence, and refuses a status that is not settable', async () => {
    const shell = startShell()
    shell.type('presence away')
    await shell.expectOutput('presence set to away')
    expect(shell.api.presence).toBe('away')
    shell.type('presence')
    await shell.expectOutput('presence is away')
    const mark = shell.output().length
    shell.type('presence offline')
    await shell.expectOutput('usage: presence online|away|busy|invisible', mark)
    expect(shell.api.presence).toBe('away')
  })

  it('prints the status', async () => {
    const shell = startShell()
    shell.type('status')
    await shell.expectOutput(/uptime\s+1h 02m/)
    expect(shell.output()).toMatch(/user\s+alice/)
    expect(shell.output()).toMatch(/supernode\s+sn1@127\.0\.0\.1:7801/)
  })

  it('hints at help for an unknown command, and help lists the commands', async () => {
    const shell = startShell()
    shell.type('dance')
    await shell.expectOutput('unknown command "dance"; type "help" for the list')
    shell.type('help')
    await shell.expectOutput(/msg NAME TEXT/)
    for (const command of ['status', 'contacts', 'add NAME [MESSAGE]', 'accept NAME', 'decline NAME', 'remove NAME', 'block NAME', 'unblock NAME', 'requests', 'presence STATUS', 'quit']) {
      expect(shell.output()).toContain(command)
    }
  })

  it('prints errors and usage mistakes and keeps going', async () => {
    const shell = startShell()
    shell.api.failNext = new Error('boom')
    shell.type('contacts')
    await shell.expectOutput('error: boom')
    shell.type('remove nobody')
    await shell.expectOutput('error: nobody is not your contact')
    shell.type('msg bob')
    await shell.expectOutput('usage: msg NAME TEXT')
    shell.type('accept')
    await shell.expectOutput('usage: accept NAME')
    shell.type('add b!d')
    await shell.expectOutput('"b!d" is not a valid username')
    shell.type('status')
    await shell.expectOutput(/user\s+alice/)
    expect(shell.api.sent).toEqual([])
  })

  it('runs commands in the order typed, even when they are typed at once', async () => {
    const shell = startShell()
    shell.input.write('msg bob one\nmsg carol two\nmsg dave three\n')
    await shell.expectOutput('delivered to dave')
    expect(shell.api.sent.map(m => m.to)).toEqual(['bob', 'carol', 'dave'])
    const out = shell.output()
    expect(out.indexOf('delivered to bob')).toBeLessThan(out.indexOf('delivered to carol'))
  })

  it('ends on quit and stops listening to events', async () => {
    const shell = startShell()
    await shell.expectOutput('voxmesh(alice)> ')
    expect(shell.api.listenerCount).toBe(1)
    shell.type('quit')
    await shell.done
    expect(shell.api.listenerCount).toBe(0)
    expect(shell.api.closed).toBe(false)
  })

  it('ends at end of input, after finishing what was typed', async () => {
    const shell = startShell()
    shell.input.end('msg bob bye\n')
    await shell.done
    expect(shell.output()).toContain('delivered to bob')
    expect(shell.api.listenerCount).toBe(0)
  })
})

describe('calls in the shell', () => {
  it('call NAME places the call, and its progress shows up above the prompt', async () => {
    const shell = startShell()
    shell.api.callDelayMs = 50
    shell.type('call Bob')
    await shell.expectOutput('* connected to bob directly in 85 ms')
    const out = shell.output()
    expect(out).toContain('* ringing bob...')
    expect(out).toContain('calling bob (id 0001Call); "hangup" ends it')
    expect(out.indexOf('* ringing bob...')).toBeLessThan(out.indexOf('* connected to bob'))
    const mark = shell.output().length
    shell.type('hangup')
    await shell.expectOutput(/\* call with bob ended after \ds/, mark)
    expect(shell.output().slice(mark)).toContain('hung up')
    expect(shell.api.invocations).toContain('placeCall bob')
    expect(shell.api.invocations).toContain('hangup')
  })

  it('announces an incoming call with its id, and answer takes it', async () => {
    const shell = startShell()
    await shell.expectOutput('voxmesh(alice)> ')
    const callId = shell.api.addIncomingCall('carol')
    await shell.expectOutput(`* carol is calling (id ${callId.slice(0, 8)}): type answer or decline`)
    shell.type('answer')
    await shell.expectOutput(`answered carol (id ${callId.slice(0, 8)})`)
    await shell.expectOutput('* connected to carol directly in 85 ms')
    expect(shell.api.call(callId)?.state).toBe('connected')
    shell.type('mute')
    await shell.expectOutput('muted: the other side hears nothing from you')
    expect(shell.api.call(callId)?.muted).toBe(true)
    shell.type('calls')
    await shell.expectOutput(new RegExp(`${callId.slice(0, 8)}\\s+incoming\\s+carol\\s+connected \\(muted\\)`))
    shell.type(`unmute ${callId.slice(0, 6)}`)
    await shell.expectOutput(/> unmuted$/m)
    expect(shell.api.call(callId)?.muted).toBe(false)
  })

  it('decline declines the ringing call; decline NAME still declines a contact request', async () => {
    const shell = startShell()
    shell.api.addIncomingRequest('erin')
    const callId = shell.api.addIncomingCall('dave')
    shell.type('decline erin')
    await shell.expectOutput('declined the contact request from erin')
    expect(shell.api.call(callId)?.state).toBe('ringing')
    shell.type('decline')
    await shell.expectOutput('declined the call from dave')
    expect(shell.api.call(callId)?.state).toBe('ended')
    await shell.expectOutput('* call with dave ended: ')
    const mark = shell.output().length
    shell.type('decline')
    await shell.expectOutput('no call is ringing; usage: decline NAME (a contact request) or decline [ID] (a ringing call)', mark)
  })

  it('decline NAME declines NAME\'s ringing call when NAME is calling, and NAME\'s contact request otherwise', async () => {
    const shell = startShell()
    shell.api.addIncomingRequest('dave')
    const other = shell.api.addIncomingCall('erin')
    const callId = shell.api.addIncomingCall('dave')
    shell.type('decline Dave')
    await shell.expectOutput('declined the call from dave')
    expect(shell.api.call(callId)?.state).toBe('ended')
    expect(shell.api.call(other)?.state).toBe('ringing')
    expect(shell.api.invocations.filter(c => c.startsWith('decline'))).toEqual([`declineCall ${callId}`])
    // Dave no longer calls: the word is his contact request again.
    shell.type('decline dave')
    await shell.expectOutput('declined the contact request from dave')
    expect(shell.api.invocations.at(-1)).toBe('declineContact dave')
  })

  it('decline ID picks the call that id names', async () => {
    const shell = startShell()
    const first = shell.api.addIncomingCall('dave')
    const second = shell.api.addIncomingCall('frank')
    shell.type(`decline ${second.slice(0, 8)}`)
    await shell.expectOutput('declined the call from frank')
    expect(shell.api.call(second)?.state).toBe('ended')
    expect(shell.api.call(first)?.state).toBe('ringing')
  })

  it('prints call refusals and usage mistakes and keeps going', async () => {
    const shell = startShell()
    shell.type('hangup')
    await shell.expectOutput('error: no call to act on')
    shell.type('answer ../x')
    await shell.expectOutput('usage: answer [ID]')
    shell.type('call')
    await shell.expectOutput('usage: call NAME')
    shell.type('call alice')
    await shell.expectOutput('error: you cannot call yourself')
    shell.type('calls')
    await shell.expectOutput(/> no calls$/m)
    shell.type('help')
    await shell.expectOutput('call NAME')
    for (const command of ['answer [ID]', 'decline [ID]', 'hangup [ID]', 'mute [ID]', 'unmute [ID]', 'calls']) expect(shell.output()).toContain(command)
  })

  it('shows when a call ends on the other side, and leaves stats to `calls`', async () => {
    const shell = startShell()
    const callId = shell.api.addIncomingCall('carol')
    shell.api.emitStats(callId)
    const call = shell.api.call(callId)
    if (call === undefined) throw new Error('no call')
    shell.api.endCall(call, 'no-answer')
    await shell.expectOutput('* call with carol ended: carol did not answer')
    expect(shell.output()).not.toContain('jitter')
  })
})

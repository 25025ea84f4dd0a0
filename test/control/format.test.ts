// The human formatting shared by the shell and the subcommands.
import { describe, expect, it } from 'vitest'
import {
  cleanText, confirm, formatCallConnected, formatCallEnded, formatCalls, formatCallStats, formatContacts, formatDuration, formatEvent,
  formatHistory, formatRequests, formatSendResult, formatStatus, formatWhen
} from '../../node/control/format.js'
import { CALL_END_REASONS, callLine } from '../../node/commands/call-commands.js'
import type { CallInfo } from '../../node/runtime/api.js'
import { FakeNodeApi } from './fake-node-api.js'

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(59.9)).toBe('59s')
    expect(formatDuration(63)).toBe('1m 03s')
    expect(formatDuration(3723)).toBe('1h 02m')
    expect(formatDuration(3 * 86400 + 4 * 3600 + 5)).toBe('3d 04h')
  })

  it('formats timestamps in seconds or milliseconds: the time today, the date before', () => {
    const now = new Date(2025, 10, 25, 15, 30).getTime()
    const earlierToday = new Date(2025, 10, 25, 9, 5).getTime()
    expect(formatWhen(earlierToday, now)).toBe('09:05')
    expect(formatWhen(earlierToday / 1000, now)).toBe('09:05')
    expect(formatWhen(new Date(2025, 0, 2, 23, 0).getTime() / 1000, now)).toBe('2025-01-02')
  })

  it('lists contacts as aligned NAME  STATUS since TIME  (contact since DATE), online first', () => {
    const now = new Date(2025, 10, 25, 15, 30).getTime()
    const at1501 = new Date(2025, 10, 25, 15, 1).getTime()
    const text = formatContacts([
      { username: 'zed', status: 'offline', since: 1_700_000_000, statusSince: null, statusSinceExact: false },
      { username: 'bob', status: 'busy', since: 1_700_000_000, statusSince: at1501, statusSinceExact: false },
      { username: 'al', status: 'online', since: 1_700_000_000, statusSince: at1501, statusSinceExact: true }
    ], now)
    const lines = text.split('\n')
    expect(lines.map(line => line.split(/\s+/).slice(0, 2).join(' '))).toEqual(['al online', 'bob busy', 'zed offline'])
    // The time shown with a status is when it changed, not when the two became contacts (2023-11-14).
    expect(lines[0]).toMatch(/^al {3}online since 15:01 {11}\(contact since 2023-11-1\d\)$/)
    // Learned at the node's start: the status may be older than that.
    expect(lines[1]).toMatch(/^bob {2}busy since 15:01 or earlier {2}\(contact since 2023-11-1\d\)$/)
    expect(lines[2]).toMatch(/^zed {2}offline {22}\(contact since 2023-11-1\d\)$/)
    expect(new Set(lines.map(line => line.indexOf('(contact since'))).size).toBe(1)
    expect(formatContacts([])).toBe('no contacts yet')
  })

  it('shows the supernode as user@address, or "not attached"', () => {
    const attached = new FakeNodeApi('alice').status()
    expect(formatStatus(attached)).toMatch(/^supernode\s+sn1@127\.0\.0\.1:7801$/m)
    const detached = new FakeNodeApi('alice', { supernode: null, role: 'supernode', peers: 3, hosts: 7, listen: '0.0.0.0:7800' }).status()
    const text = formatStatus(detached)
    expect(text).toMatch(/^supernode\s+not attached$/m)
    expect(text).toMatch(/^role\s+supernode$/m)
    expect(text).toMatch(/^peers\s+3$/m)
    expect(text).toMatch(/^hosts\s+7$/m)
    expect(text).toMatch(/^listen\s+0\.0\.0\.0:7800$/m)
    expect(text).not.toMatch(/^advertise/m)
  })

  it('says what msg did: delivered, sent, or queued for an offline contact', () => {
    expect(formatSendResult('bob', { status: 'delivered', id: 'a', receiptMs: 41.6 })).toBe('delivered to bob (42 ms)')
    expect(formatSendResult('bob', { status: 'sent', id: 'a' })).toBe('sent to bob, no receipt yet')
    expect(formatSendResult('bob', { status: 'queued', id: 'a', reason: 'offline' })).toMatch(/^queued, bob is offline: /)
    expect(formatSendResult('bob', { status: 'queued', id: 'a', reason: 'not-connected' })).toMatch(/^queued, this node is not connected/)
  })

  it('shows the history in lines with times and delivery states', () => {
    const now = new Date(2025, 10, 25, 15, 30).getTime()
    const at = (h: number, m: number): number => new Date(2025, 10, 25, h, m).getTime()
    const base = { peer: 'bob', sentAt: null, deliveredAt: null }
    const text = formatHistory([
      { ...base, id: '1', direction: 'out', text: 'hello', state: 'delivered', writtenAt: at(15, 1), sentAt: at(15, 3), deliveredAt: at(15, 3) },
      { ...base, id: '2', direction: 'in', text: 'hi\nthere', state: 'received', writtenAt: at(15, 4), sentAt: at(15, 4), deliveredAt: at(15, 4) },
      { ...base, id: '3', direction: 'out', text: 'later', state: 'queued', writtenAt: at(15, 5) },
      { ...base, id: '4', direction: 'out', text: 'ok', state: 'sent', writtenAt: at(15, 6), sentAt: at(15, 6) }
    ], 'bob', now)
    expect(text.split('\n')).toEqual([
      '[15:01] you to bob: hello (delivered 15:03)',
      '[15:04] bob: hi',
      '             there',
      '[15:05] you to bob: later (queued: bob has not been online since)',
      '[15:06] you to bob: ok (sent, no receipt yet)'
    ])
    expect(formatHistory([], 'bob')).toBe('no messages with bob yet')
    expect(formatHistory([])).toBe('no messages yet')
  })

  it('lists requests both ways, or says there are none', () => {
    expect(formatRequests({ incoming: [], outgoing: [] })).toBe('no pending contact requests')
    const text = formatRequests({
      incoming: [{ id: 1, from: 'bob', to: 'alice', message: 'hi\nthere', createdAt: 1_700_000_000 }],
      outgoing: [{ id: 2, from: 'alice', to: 'carol', message: '', createdAt: 1_700_000_000 }]
    })
    expect(text).toMatch(/^incoming.*\n {2}bob .*"hi there"\noutgoing.*\n {2}carol /)
  })

  it('lists recently accepted requests after the pending ones', () => {
    const accepted = [{ id: 3, from: 'dave', to: 'alice', message: 'hello', createdAt: 1_700_000_000, acceptedAt: 1_700_000_100 }]
    expect(formatRequests({ incoming: [], outgoing: [], accepted })).toMatch(/^accepted \(now contacts\):\n {2}dave -> alice {2}accepted \S+ {2}"hello"$/)
    const text = formatRequests({ incoming: [{ id: 1, from: 'bob', to: 'alice', message: '', createdAt: 1_700_000_000 }], outgoing: [], accepted })
    expect(text).toMatch(/^incoming.*\n {2}bob .*\naccepted \(now contacts\):\n {2}dave -> alice /)
    expect(formatRequests({ incoming: [], outgoing: [], accepted: [] })).toBe('no pending contact requests')
  })

  it('makes others\' text safe for a terminal but keeps newlines, tabs and emoji', () => {
    expect(cleanText('a\u001b[31mred\u0007\r\u0085\u202Eb')).toBe('a\uFFFD[31mred\uFFFD\uFFFD\uFFFD\uFFFDb')
    expect(cleanText('line\n\tindented 😀')).toBe('line\n\tindented 😀')
  })

  it('formats events for people, and hides receipts', () => {
    expect(formatEvent({ event: 'presence', user: 'bob', status: 'busy' })).toBe('* bob is now busy')
    expect(formatEvent({ event: 'receipt', from: 'bob', ref: 'x' })).toBeUndefined()
    expect(formatEvent({ event: 'contact-request', from: 'bob', message: '' })).toBe('* contact request from bob (accept or decline it)')
    expect(formatEvent({ event: 'detached', supernode: { address: '10.0.0.1:7800' }, reason: 'ping timeout' })).toBe('* lost supernode 10.0.0.1:7800: ping timeout')
    const now = new Date(2025, 10, 25, 15, 30).getTime()
    expect(formatEvent({ event: 'message', from: 'bob', id: 'm', text: 'one\ntwo', sentAt: new Date(2025, 10, 25, 15, 29).getTime(), writtenAt: new Date(2025, 10, 25, 15, 29).getTime() }, now))
      .toBe('[15:29] bob: one\n             two')
    // A text queued while we were offline shows when it was written, not when it came.
    expect(formatEvent({ event: 'message', from: 'bob', id: 'q', text: 'hi', sentAt: now, writtenAt: new Date(2025, 10, 25, 9, 5).getTime() }, now))
      .toBe('[09:05] bob: hi')
    expect(formatEvent({ event: 'error', message: 'bad\u001bthing' })).toBe('! bad\uFFFDthing')
  })

  it('confirms actions in one line', () => {
    expect(confirm.add('bob', 'pending')).toBe('contact request sent to bob')
    expect(confirm.add('bob', 'accepted')).toBe('bob is now your contact')
    expect(confirm.presence('invisible')).toBe('presence set to invisible')
  })
})

describe('call formatting', () => {
  it('says how a call connected: via which relay, or directly, in whole ms', () => {
    expect(formatCallConnected({ peer: 'bob', path: 'relay', relay: 'super1@127.0.0.1:7701', setupMs: 84.6 }))
      .toBe('connected to bob via relay super1@127.0.0.1:7701 in 85 ms')
    expect(formatCallConnected({ peer: 'bob', path: 'direct', setupMs: 12 })).toBe('connected to bob directly in 12 ms')
    expect(formatCallConnected({ peer: 'bob', path: 'relay', relay: 'x\u001b[2J', setupMs: 1 })).not.toContain('\u001b')
  })

  it('puts stats on one compact line, with "-" for an RTT not measured yet', () => {
    const stats = { rttMs: 41.6, jitterMs: 3.14, lossPct: 0.25, bitrateKbps: 23.7, mos: 4.381 }
    expect(formatCallStats(stats)).toBe('rtt 42 ms  jitter 3.1 ms  loss 0.3%  24 kbit/s  MOS 4.38')
    expect(formatCallStats({ ...stats, rttMs: null })).toMatch(/^rtt -  jitter/)
  })

  it('says how a call ended: its length after a hang-up, the reason otherwise, and the recording', () => {
    const base = { peer: 'bob', durationMs: 63_400, message: 'call ended', reason: 'hangup' }
    expect(formatCallEnded(base)).toBe('call ended after 1m 03s')
    expect(formatCallEnded(base, true)).toBe('call with bob ended after 1m 03s')
    expect(formatCallEnded({ ...base, reason: 'busy', message: 'bob is busy', durationMs: 0 })).toBe('call ended: bob is busy')
    expect(formatCallEnded({ ...base, recording: '/tmp/r.wav' })).toBe('call ended after 1m 03s; recorded to /tmp/r.wav')
  })

  it('tabulates calls: short id, direction, peer, state, path, duration, setup, quality', () => {
    const now = 1_800_000_000_000
    const calls: CallInfo[] = [
      {
        callId: 'abcdefghijklmnop', direction: 'outgoing', peer: 'bob', state: 'connected', startedAt: now - 70_000, connectedAt: now - 65_000, muted: true,
        stats: { path: 'relay', rttMs: 120.4, jitterMs: 4.44, lossPct: 2, bitrateKbps: 24, mos: 3.9, packetsSent: 1, packetsReceived: 1 },
        setup: { iceConnectedMs: 150, dtlsConnectedMs: 190, firstAudioMs: 212, localCandidates: ['host', 'srflx', 'relay'], remoteCandidates: ['relay'] }
      },
      { callId: 'zyxwvutsrqponmlk', direction: 'incoming', peer: 'carol', state: 'ringing', startedAt: now - 3000, muted: false }
    ]
    const lines = formatCalls(calls, now).split('\n')
    expect(lines.map(line => line.split(/\s{2,}/))).toEqual([
      ['ID', 'DIR', 'PEER', 'STATE', 'PATH', 'DURATION', 'SETUP', 'RTT', 'JITTER', 'LOSS', 'MOS'],
      ['abcdefgh', 'outgoing', 'bob', 'connected (muted)', 'relay', '1m 05s', '212 ms', '120 ms', '4.4 ms', '2.0%', '3.90'],
      ['zyxwvuts', 'incoming', 'carol', 'ringing', '-', '-', '-', '-', '-', '-', '-']
    ])
    // Columns line up.
    expect(lines[1]?.indexOf('outgoing')).toBe(lines[0]?.indexOf('DIR'))
    expect(formatCalls([])).toBe('no calls')
  })

  it('prints incoming calls, progress and ends as events, but not the per-second stats', () => {
    expect(formatEvent({ event: 'call-incoming', callId: 'abcdefghijklmnop', from: 'bob' })).toBe('* bob is calling (id abcdefgh): type answer or decline')
    expect(formatEvent({ event: 'call-ringing', callId: 'c', peer: 'bob' })).toBe('* ringing bob...')
    expect(formatEvent({ event: 'call-ended', callId: 'c', peer: 'bob', reason: 'declined', message: 'bob declined the call', durationMs: 0 }))
      .toBe('* call with bob ended: bob declined the call')
    expect(formatEvent({ event: 'call-recovering', callId: 'c', peer: 'bob', reason: 'no audio for 1.5 s' }))
      .toBe('* Call with bob interrupted: no audio for 1.5 s; reconnecting…')
    expect(formatEvent({ event: 'call-recovered', callId: 'c', peer: 'bob', recoveryMs: 2149, path: 'relay' }))
      .toBe('* Call with bob reconnected through a relay after 2.1 s.')
    expect(formatEvent({ event: 'call-recovered', callId: 'c', peer: 'bob', recoveryMs: 800, path: 'direct' })).toBe('* Call with bob reconnected directly after 0.8 s.')
    expect(formatEvent({ event: 'call-recovering', callId: 'c', peer: 'bob', reason: 'x\u001b[2J' })).not.toContain('\u001b')
    expect(formatEvent({ event: 'call-stats', callId: 'c', path: 'direct', rttMs: 1, jitterMs: 1, lossPct: 0, bitrateKbps: 24, mos: 4.4, packetsSent: 1, packetsReceived: 1 })).toBeUndefined()
  })
})

describe('call --json lines', () => {
  it('names events as the issue does, with relay null on the direct path', () => {
    expect(callLine({ event: 'call-ringing', callId: 'c', peer: 'bob' })).toEqual({ event: 'ringing', callId: 'c', peer: 'bob' })
    expect(callLine({ event: 'call-connected', callId: 'c', peer: 'bob', path: 'direct', setupMs: 9 }))
      .toEqual({ event: 'connected', callId: 'c', peer: 'bob', path: 'direct', relay: null, setupMs: 9 })
    expect(callLine({ event: 'call-stats', callId: 'c', path: 'relay', rttMs: null, jitterMs: 1, lossPct: 2, bitrateKbps: 3, mos: 4, packetsSent: 5, packetsReceived: 6 }))
      .toEqual({ event: 'stats', callId: 'c', path: 'relay', rttMs: null, jitterMs: 1, lossPct: 2, bitrateKbps: 3, mos: 4, packetsSent: 5, packetsReceived: 6 })
    expect(callLine({ event: 'call-recovering', callId: 'c', peer: 'bob', reason: 'no audio for 1.5 s' }))
      .toEqual({ event: 'recovering', callId: 'c', peer: 'bob', reason: 'no audio for 1.5 s' })
    expect(callLine({ event: 'call-recovered', callId: 'c', peer: 'bob', recoveryMs: 2100, path: 'relay' }))
      .toEqual({ event: 'recovered', callId: 'c', peer: 'bob', recoveryMs: 2100, path: 'relay' })
    expect(callLine({ event: 'presence', user: 'bob', status: 'away' })).toBeUndefined()
  })

  it('keeps the issue\'s end reasons and maps the node\'s others, with the original as cause', () => {
    const ended = (reason: string) => callLine({ event: 'call-ended', callId: 'c', peer: 'bob', reason, message: 'm', durationMs: 5, recording: '/r.wav' })
    for (const reason of CALL_END_REASONS) expect(ended(reason)).toEqual({ event: 'ended', callId: 'c', peer: 'bob', reason, message: 'm', durationMs: 5, recording: '/r.wav' })
    expect(ended('not-allowed')).toMatchObject({ reason: 'declined', cause: 'not-allowed' })
    expect(ended('answered-elsewhere')).toMatchObject({ reason: 'failed', cause: 'answered-elsewhere' })
    expect(ended('connection-lost')).toMatchObject({ reason: 'failed', cause: 'connection-lost' })
  })
})

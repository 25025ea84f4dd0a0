// Human-readable output, shared by the interactive shell and the client
// subcommands so the two never drift. Pure functions: strings in, strings out.
import { formatMoney } from '../../common/money.js'
import { PRESENCE_STATUSES, type PresenceStatus } from '../../common/presence.js'
import type { CallHistory, CallInfo, CallStats, ContactRequestsView, ContactView, MessageView, NodeEvent, NodeStatus, SendMessageResult } from '../runtime/api.js'

/**
 * Text that came from another user, made safe for a terminal: control
 * characters (escape sequences, carriage returns...) and bidi overrides become
 * U+FFFD. Tabs and newlines stay.
 */
export function cleanText (text: string): string {
  return text.replace(/(?![\t\n])\p{Cc}|[\u202A-\u202E\u2066-\u2069]/gu, '\uFFFD')
}

/** "12s", "5m 03s", "1h 02m", "3d 04h". */
export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const pad = (n: number): string => String(n).padStart(2, '0')
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`
}

/**
 * A timestamp for people, in local time: "14:03" today, "2025-11-24" before.
 * Accepts Unix seconds (the login server's unit) or milliseconds (the
 * overlay's): anything below 10^11 is seconds, which is unambiguous until the year 5138.
 */
export function formatWhen (timestamp: number, now = Date.now()): string {
  const ms = timestamp < 1e11 ? timestamp * 1000 : timestamp
  const date = new Date(ms)
  const pad = (n: number): string => String(n).padStart(2, '0')
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
  const today = new Date(now)
  const sameDay = date.getFullYear() === today.getFullYear() && date.getMonth() === today.getMonth() && date.getDate() === today.getDate()
  return sameDay ? `${pad(date.getHours())}:${pad(date.getMinutes())}` : day
}

const supernodeName = (supernode: { user?: string, address: string }): string =>
  supernode.user === undefined ? supernode.address : `${supernode.user}@${supernode.address}`

/** Label/value lines, labels padded to one column. */
function table (rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

export function formatStatus (status: NodeStatus): string {
  const rows: Array<[string, string]> = [
    ['user', status.user],
    ...(status.state === undefined ? [] : [['state', status.state] as [string, string]]),
    ['role', status.role],
    ['supernode', status.supernode === null ? 'not attached' : supernodeName(status.supernode)],
    ['presence', status.presence],
    ['peers', String(status.peers)],
    ['hosts', String(status.hosts)],
    ['uptime', formatDuration(status.uptimeSeconds)],
    ['login server', status.loginServer]
  ]
  if (status.listen !== null) rows.push(['listen', status.listen])
  if (status.advertise !== null) rows.push(['advertise', status.advertise])
  rows.push(['device key', status.deviceKey])
  return table(rows)
}

/** Where a status sorts in lists: the order of PRESENCE_STATUSES, anything unknown last. */
const STATUS_ORDER = new Map<string, number>(PRESENCE_STATUSES.map((status: PresenceStatus, i) => [status, i]))

/**
 * `NAME  STATUS since TIME  (contact since DATE)`, online contacts first. The status time is when this
 * node saw it change ("since TIME or earlier" when it learned the status at its start, which may be older);
 * a status it has heard nothing of (offline since before it started) has none.
 */
export function formatContacts (contacts: ContactView[], now = Date.now()): string {
  if (contacts.length === 0) return 'no contacts yet'
  const sorted = [...contacts].sort((a, b) =>
    (STATUS_ORDER.get(a.status) ?? 9) - (STATUS_ORDER.get(b.status) ?? 9) || a.username.localeCompare(b.username))
  const status = (c: ContactView): string => c.statusSince === null
    ? c.status
    : `${c.status} since ${formatWhen(c.statusSince, now)}${c.statusSinceExact ? '' : ' or earlier'}`
  const nameWidth = Math.max(...sorted.map(c => c.username.length))
  const statusWidth = Math.max(...sorted.map(c => status(c).length))
  return sorted.map(c => `${c.username.padEnd(nameWidth)}  ${status(c).padEnd(statusWidth)}  (contact since ${formatWhen(c.since, now)})`).join('\n')
}

/** Pending requests both ways, then the recently accepted ones (so a new contact never appears unexplained). */
export function formatRequests (requests: Omit<ContactRequestsView, 'accepted'> & Partial<Pick<ContactRequestsView, 'accepted'>>, now = Date.now()): string {
  const accepted = requests.accepted ?? []
  if (requests.incoming.length === 0 && requests.outgoing.length === 0 && accepted.length === 0) return 'no pending contact requests'
  const quote = (message: string): string => message === '' ? '' : `  "${cleanText(message).replace(/\s+/g, ' ')}"`
  const lines: string[] = []
  if (requests.incoming.length > 0) {
    lines.push('incoming (accept or decline):')
    for (const r of requests.incoming) lines.push(`  ${r.from}  ${formatWhen(r.createdAt, now)}${quote(r.message)}`)
  }
  if (requests.outgoing.length > 0) {
    lines.push('outgoing (waiting for an answer):')
    for (const r of requests.outgoing) lines.push(`  ${r.to}  ${formatWhen(r.createdAt, now)}${quote(r.message)}`)
  }
  if (accepted.length > 0) {
    lines.push('accepted (now contacts):')
    for (const r of accepted) lines.push(`  ${r.from} -> ${r.to}  accepted ${formatWhen(r.acceptedAt, now)}${quote(r.message)}`)
  }
  return lines.join('\n')
}

/** What `msg` prints. */
export function formatSendResult (to: string, result: SendMessageResult): string {
  switch (result.status) {
    case 'delivered': return `delivered to ${to} (${Math.round(result.receiptMs)} ms)`
    case 'sent': return `sent to ${to}, no receipt yet`
    case 'queued': return result.reason === 'offline'
      ? `queued, ${to} is offline: this node sends it when ${to} comes online`
      : `queued, this node is not connected to the network yet: it sends it when ${to} is online`
  }
}

/** The message's text for a terminal, continuation lines indented by `indent`. */
const messageText = (text: string, indent: number): string => cleanText(text).split('\n').join('\n' + ' '.repeat(indent))

/** One history line: "[15:01] you to bob: hello (delivered 15:03)" or "[15:02] bob: hi". */
export function formatHistoryLine (message: MessageView, now = Date.now()): string {
  const prefix = `[${formatWhen(message.writtenAt, now)}] ${message.direction === 'out' ? `you to ${message.peer}` : message.peer}: `
  const state = (): string => {
    switch (message.state) {
      case 'queued': return ` (queued: ${message.peer} has not been online since)`
      case 'sent': return ' (sent, no receipt yet)'
      case 'delivered': return ` (delivered ${formatWhen(message.deliveredAt ?? message.writtenAt, now)})`
      case 'received': return ''
    }
  }
  return prefix + messageText(message.text, prefix.length) + state()
}

/** `messages`: one conversation, or the last message of each ("no messages" when there are none). */
export function formatHistory (messages: MessageView[], peer?: string, now = Date.now()): string {
  if (messages.length === 0) return peer === undefined ? 'no messages yet' : `no messages with ${peer} yet`
  return messages.map(message => formatHistoryLine(message, now)).join('\n')
}

/** The one-line confirmations of contact and presence actions. */
export const confirm = {
  add: (name: string, status: 'pending' | 'accepted'): string =>
    status === 'accepted' ? `${name} is now your contact` : `contact request sent to ${name}`,
  accept: (name: string): string => `${name} is now your contact`,
  decline: (name: string): string => `declined the contact request from ${name}`,
  remove: (name: string): string => `removed ${name} from your contacts`,
  block: (name: string): string => `blocked ${name}`,
  unblock: (name: string): string => `unblocked ${name}`,
  presence: (status: string): string => `presence set to ${status}`
}

/** An event as a line for people, or undefined for events people need not see (receipts). */
export function formatEvent (event: NodeEvent, now = Date.now()): string | undefined {
  switch (event.event) {
    case 'ready': return `* ready: ${event.user} as ${event.role}; control API at ${event.control}`
    case 'role': return `* role is now ${event.role}: ${cleanText(event.reason)}`
    case 'attached': return `* attached to supernode ${supernodeName(event.supernode)} (${Math.round(event.setupMs)} ms)`
    case 'detached': return `* lost supernode ${supernodeName(event.supernode)}: ${cleanText(event.reason)}`
    case 'presence': return `* ${event.user} is now ${event.status}`
    case 'message': {
      const prefix = `[${formatWhen(event.writtenAt, now)}] ${event.from}: `
      return prefix + messageText(event.text, prefix.length)
    }
    case 'receipt': return undefined
    case 'delivered': return `* ${event.to} received your message of ${formatWhen(event.writtenAt, now)}`
    case 'contact-request': {
      const message = event.message === '' ? '' : `: "${cleanText(event.message).replace(/\s+/g, ' ')}"`
      return `* contact request from ${event.from}${message} (accept or decline it)`
    }
    case 'contact-added': return `* ${event.username} is now your contact`
    case 'contact-removed': return `* ${event.username} is no longer your contact`
    case 'error': return `! ${cleanText(event.message)}`
    case 'call-incoming': return `* ${event.callerNumber === undefined ? event.from : `${event.callerNumber} (a phone, through ${event.from})`} is calling (id ${shortCallId(event.callId)}): type answer or decline`
    case 'call-ringing': return `* ${formatCallRinging(event.peer)}`
    case 'call-connected': return `* ${formatCallConnected(event)}`
    case 'call-recovering': return `* ${formatCallRecovering(event)}`
    case 'call-recovered': return `* ${formatCallRecovered(event)}`
    case 'call-ended': return `* ${formatCallEnded(event, true)}`
    // Every second per call: `calls` shows them on demand.
    case 'call-stats': return undefined
    default: return undefined
  }
}

/** The part of a call id people type and see (the node takes any unique prefix). */
export const shortCallId = (callId: string): string => callId.slice(0, 8)

export const formatCallRinging = (peer: string): string => `ringing ${peer}...`

/** "connected to bob via relay super1@127.0.0.1:7701 in 85 ms", or "... directly in 12 ms". */
export function formatCallConnected (event: { peer: string, path: 'direct' | 'relay', relay?: string, setupMs: number }): string {
  const via = event.path === 'relay' ? `via relay ${cleanText(event.relay ?? 'a supernode')}` : 'directly'
  return `connected to ${event.peer} ${via} in ${Math.round(event.setupMs)} ms`
}

/** "Call with bob interrupted: no audio for 1.5 s; reconnecting…" */
export function formatCallRecovering (event: { peer: string, reason: string }): string {
  return `Call with ${event.peer} interrupted: ${cleanText(event.reason)}; reconnecting…`
}

/** "Call with bob reconnected through a relay after 2.1 s." */
export function formatCallRecovered (event: { peer: string, path: 'direct' | 'relay', recoveryMs: number }): string {
  const via = event.path === 'relay' ? 'through a relay' : 'directly'
  return `Call with ${event.peer} reconnected ${via} after ${(event.recoveryMs / 1000).toFixed(1)} s.`
}

const fixed = (value: number, digits: number): string => Number.isFinite(value) ? value.toFixed(digits) : '?'

/** One compact line: "rtt 42 ms  jitter 3.1 ms  loss 0.0%  24 kbit/s  MOS 4.38". */
export function formatCallStats (stats: Pick<CallStats, 'rttMs' | 'jitterMs' | 'lossPct' | 'bitrateKbps' | 'mos'>): string {
  const rtt = stats.rttMs === null ? 'rtt -' : `rtt ${Math.round(stats.rttMs)} ms`
  return `${rtt}  jitter ${fixed(stats.jitterMs, 1)} ms  loss ${fixed(stats.lossPct, 1)}%  ${fixed(stats.bitrateKbps, 0)} kbit/s  MOS ${fixed(stats.mos, 2)}`
}

/** "call ended after 1m 03s" for a hang-up, else "call ended: bob declined the call"; with `withPeer`, "call with bob ended ...". */
export function formatCallEnded (event: { peer: string, reason: string, message: string, durationMs: number, recording?: string }, withPeer = false): string {
  const subject = withPeer ? `call with ${event.peer} ended` : 'call ended'
  const text = event.reason === 'hangup' ? `${subject} after ${formatDuration(event.durationMs / 1000)}` : `${subject}: ${cleanText(event.message)}`
  return event.recording === undefined ? text : `${text}; recorded to ${cleanText(event.recording)}`
}

/** `calls --history`: a line a call, newest first: when, the number (or who rang), how it ended, seconds, cost. */
export function formatCallHistory (history: CallHistory): string {
  if (history.calls.length === 0) return 'no calls to or from phone numbers'
  const when = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')
  const rows = history.calls.map(call => [
    when(call.startedAt),
    call.direction === 'inbound' ? `from ${call.callerNumber ?? 'a phone'} (to ${call.number})` : `to ${call.number}`,
    call.disposition,
    `${call.billsec} s`,
    formatMoney(call.cost, history.currency)
  ])
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map(r => (r[i] as string).length))) ?? []
  return rows.map(r => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

/**
 * The `calls` table: id, direction, peer, state, path, duration, setup (answer → first audio; `calls
 * --json` says where that time went) and the latest stats.
 */
export function formatCalls (calls: CallInfo[], now = Date.now()): string {
  if (calls.length === 0) return 'no calls'
  const rows = calls.map(call => {
    const stats = call.stats
    const live = call.state === 'connected' && call.connectedAt !== undefined
    return [
      shortCallId(call.callId),
      call.direction,
      call.peer,
      call.state + (call.muted && call.state !== 'ended' ? ' (muted)' : ''),
      stats?.path ?? '-',
      live ? formatDuration((now - (call.connectedAt as number)) / 1000) : '-',
      call.setup?.firstAudioMs === undefined ? '-' : `${call.setup.firstAudioMs} ms`,
      stats === undefined || stats.rttMs === null ? '-' : `${Math.round(stats.rttMs)} ms`,
      stats === undefined ? '-' : `${fixed(stats.jitterMs, 1)} ms`,
      stats === undefined ? '-' : `${fixed(stats.lossPct, 1)}%`,
      stats === undefined ? '-' : fixed(stats.mos, 2)
    ]
  })
  const header = ['ID', 'DIR', 'PEER', 'STATE', 'PATH', 'DURATION', 'SETUP', 'RTT', 'JITTER', 'LOSS', 'MOS']
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map(row => (row[i] as string).length)))
  return all.map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)).join('  ')).join('\n')
}

// The shell's commands: what each one does with the NodeApi and prints. A
// command's words are checked here; a wrong one is a usage error the shell
// prints, never a throw that ends it.
import { invalidUsernameMessage, normalizeUsername } from '../../common/usernames.js'
import { isSettableStatus, SETTABLE_STATUSES } from '../../common/presence.js'
import type { NodeApi } from '../runtime/api.js'
import { CALL_ID_PREFIX } from './control-api.js'
import { confirm, formatCalls, formatContacts, formatHistory, formatRequests, formatSendResult, formatStatus, shortCallId } from './format.js'

export const HELP: Array<[string, string]> = [
  ['help', 'this list'],
  ['status', 'user, role, supernode, peers, hosts, uptime'],
  ['contacts', 'your contacts and their status'],
  ['add NAME [MESSAGE]', 'send a contact request'],
  ['accept NAME', 'accept NAME\'s contact request'],
  ['decline NAME', 'decline NAME\'s contact request (or NAME\'s ringing call)'],
  ['remove NAME', 'remove a contact'],
  ['block NAME', 'block a user (their requests and messages vanish)'],
  ['unblock NAME', 'unblock a user'],
  ['requests', 'pending contact requests, both ways, and recently accepted ones'],
  ['presence STATUS', 'set your status: online, away, busy or invisible'],
  ['msg NAME TEXT', 'send a text message (kept and sent later when NAME is offline)'],
  ['messages [NAME]', 'your conversation with NAME, or the last message of each'],
  ['call NAME', 'call NAME (progress shows up as it comes)'],
  ['answer [ID]', 'answer the ringing call (or the one with that id)'],
  ['decline [ID]', 'decline the ringing call (or the one with that id)'],
  ['hangup [ID]', 'end the call, or cancel it while it rings'],
  ['mute [ID]', 'stop sending your audio'],
  ['unmute [ID]', 'send your audio again'],
  ['calls', 'live calls with their quality'],
  ['quit', 'leave (also Ctrl-D or Ctrl-C)']
]
export const COMMANDS = [...new Set(HELP.map(([usage]) => usage.split(' ')[0] as string)), 'exit']
export const TAKES_NAME = new Set(['add', 'accept', 'decline', 'remove', 'block', 'unblock', 'msg', 'messages', 'call'])

export class ShellUsageError extends Error {}

/** What a command gets: the API, the printer, the names known for completion, its words. */
export interface ShellCommandContext {
  api: NodeApi
  print: (text: string) => void
  /** Usernames to complete (contacts, people seen); commands keep it current. */
  names: Set<string>
  /** The second word, if any, and everything after it. */
  first: string | undefined
  rest: string
  quit: () => void
}

const name = (word: string | undefined, usage: string): string => {
  if (word === undefined || word === '') throw new ShellUsageError(`usage: ${usage}`)
  const username = normalizeUsername(word)
  if (username === undefined) throw new ShellUsageError(invalidUsernameMessage(word))
  return username
}

const callId = (word: string | undefined, usage: string): string | undefined => {
  if (word === undefined) return undefined
  if (!CALL_ID_PREFIX.test(word)) throw new ShellUsageError(`usage: ${usage} (ID is the first characters of the id "calls" shows)`)
  return word
}

type Command = (c: ShellCommandContext) => Promise<void> | void

const help: Command = ({ print }) => {
  const width = Math.max(...HELP.map(([usage]) => usage.length))
  print(HELP.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`).join('\n'))
}

/**
 * `decline` declines a ringing call: the first one; or, given a word, the one from the user it names, else the one
 * whose id starts with it. When no ringing call fits, `decline NAME` declines NAME's contact request.
 */
const decline: Command = async ({ api, print, first }) => {
  const ringing = api.calls().filter(c => c.direction === 'incoming' && c.state === 'ringing')
  const caller = first === undefined ? undefined : normalizeUsername(first)
  const call = first === undefined ? ringing[0] : ringing.find(c => c.peer === caller) ?? ringing.find(c => c.callId.startsWith(first))
  if (call !== undefined) {
    api.declineCall(call.callId)
    print(`declined the call from ${call.peer}`)
    return
  }
  if (first === undefined) throw new ShellUsageError('no call is ringing; usage: decline NAME (a contact request) or decline [ID] (a ringing call)')
  const who = name(first, 'decline NAME')
  await api.declineContact(who)
  print(confirm.decline(who))
}

const presence: Command = ({ api, print, first }) => {
  if (first === undefined) { print(`presence is ${api.status().presence}`); return }
  const status = first.toLowerCase()
  if (!isSettableStatus(status)) throw new ShellUsageError(`usage: presence ${SETTABLE_STATUSES.join('|')}`)
  api.setPresence(status)
  print(confirm.presence(status))
}

const contactCommands: Record<string, Command> = {
  contacts: async ({ api, print, names }) => {
    const contacts = await api.contacts()
    for (const c of contacts) names.add(c.username)
    print(formatContacts(contacts))
  },
  requests: async ({ api, print }) => { print(formatRequests(await api.requests())) },
  add: async ({ api, print, first, rest }) => {
    const who = name(first, 'add NAME [MESSAGE]')
    print(confirm.add(who, (await api.addContact(who, rest === '' ? undefined : rest)).status))
  },
  accept: async ({ api, print, names, first }) => { const who = name(first, 'accept NAME'); await api.acceptContact(who); names.add(who); print(confirm.accept(who)) },
  remove: async ({ api, print, names, first }) => { const who = name(first, 'remove NAME'); await api.removeContact(who); names.delete(who); print(confirm.remove(who)) },
  block: async ({ api, print, first }) => { const who = name(first, 'block NAME'); await api.block(who); print(confirm.block(who)) },
  unblock: async ({ api, print, first }) => { const who = name(first, 'unblock NAME'); await api.unblock(who); print(confirm.unblock(who)) },
  presence,
  msg: async ({ api, print, first, rest }) => {
    const who = name(first, 'msg NAME TEXT')
    if (rest.trim() === '') throw new ShellUsageError('usage: msg NAME TEXT')
    print(formatSendResult(who, await api.sendMessage(who, rest)))
  },
  messages: ({ api, print, first }) => {
    const who = first === undefined ? undefined : name(first, 'messages [NAME]')
    print(formatHistory(api.messages(who), who))
  }
}

const callCommands: Record<string, Command> = {
  call: async ({ api, print, first }) => {
    const who = name(first, 'call NAME')
    const { callId: id } = await api.placeCall(who)
    print(`calling ${who} (id ${shortCallId(id)}); "hangup" ends it`)
  },
  answer: async ({ api, print, first }) => {
    const { callId: id } = await api.answerCall(callId(first, 'answer [ID]'))
    print(`answered ${api.calls().find(c => c.callId === id)?.peer ?? 'the caller'} (id ${shortCallId(id)})`)
  },
  decline,
  hangup: ({ api, print, first }) => { api.hangup(callId(first, 'hangup [ID]')); print('hung up') },
  mute: ({ api, print, first }) => { api.setMuted(true, callId(first, 'mute [ID]')); print('muted: the other side hears nothing from you') },
  unmute: ({ api, print, first }) => { api.setMuted(false, callId(first, 'unmute [ID]')); print('unmuted') },
  calls: ({ api, print }) => { print(formatCalls(api.calls())) }
}

const COMMAND_TABLE: Record<string, Command> = {
  help,
  '?': help,
  status: ({ api, print }) => { print(formatStatus(api.status())) },
  ...contactCommands,
  ...callCommands,
  quit: ({ quit }) => { quit() },
  exit: ({ quit }) => { quit() }
}

/** Runs one line; an unknown command is answered, not thrown. */
export async function executeLine (line: string, context: Omit<ShellCommandContext, 'first' | 'rest'>): Promise<void> {
  const match = /^(\S+)\s*(\S*)\s*([\s\S]*)$/.exec(line.trim())
  if (match === null) return
  const command = (match[1] as string).toLowerCase()
  const run = Object.hasOwn(COMMAND_TABLE, command) ? COMMAND_TABLE[command] : undefined
  if (run === undefined) { context.print(`unknown command "${command}"; type "help" for the list`); return }
  await run({ ...context, first: match[2] === '' ? undefined : match[2], rest: match[3] as string })
}

// The interactive shell `voxmesh node` opens on a terminal: one command per
// line against the NodeApi, events printed above the prompt as they come.
// Errors are printed, never thrown: only `quit`, Ctrl-C or end of input end it.
import { clearLine, createInterface, cursorTo, type Completer } from 'node:readline'
import { normalizeUsername, USERNAME_RULE } from '../../common/usernames.js'
import { isSettableStatus, SETTABLE_STATUSES } from '../../common/presence.js'
import type { NodeApi } from '../runtime/api.js'
import { confirm, formatCalls, formatContacts, formatEvent, formatRequests, formatSendResult, formatStatus, shortCallId } from './format.js'

export interface ShellIo {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Line editing, history and redrawing the prompt; defaults to whether output is a TTY. */
  terminal?: boolean
}

const HELP: Array<[string, string]> = [
  ['help', 'this list'],
  ['status', 'user, role, supernode, peers, hosts, uptime'],
  ['contacts', 'your contacts and their status'],
  ['add NAME [MESSAGE]', 'send a contact request'],
  ['accept NAME', 'accept NAME\'s contact request'],
  ['decline NAME', 'decline NAME\'s contact request'],
  ['remove NAME', 'remove a contact'],
  ['block NAME', 'block a user (their requests and messages vanish)'],
  ['unblock NAME', 'unblock a user'],
  ['requests', 'pending contact requests, both ways, and recently accepted ones'],
  ['presence STATUS', 'set your status: online, away, busy or invisible'],
  ['msg NAME TEXT', 'send a text message'],
  ['call NAME', 'call NAME (progress shows up as it comes)'],
  ['answer [ID]', 'answer the ringing call (or the one with that id)'],
  ['decline [ID]', 'decline the ringing call (decline NAME still declines a contact request)'],
  ['hangup [ID]', 'end the call, or cancel it while it rings'],
  ['mute [ID]', 'stop sending your audio'],
  ['unmute [ID]', 'send your audio again'],
  ['calls', 'live calls with their quality'],
  ['quit', 'leave (also Ctrl-D or Ctrl-C)']
]
const COMMANDS = [...new Set(HELP.map(([usage]) => usage.split(' ')[0] as string)), 'exit']
const TAKES_NAME = new Set(['add', 'accept', 'decline', 'remove', 'block', 'unblock', 'msg', 'call'])
/** What a call id (or a prefix of one) may look like. */
const CALL_ID = /^[A-Za-z0-9_-]{1,32}$/

class ShellUsageError extends Error {}

export async function runShell (api: NodeApi, io: ShellIo): Promise<void> {
  const terminal = io.terminal ?? (io.output as { isTTY?: boolean }).isTTY === true
  const names = new Set<string>()
  const completer: Completer = line => {
    const words = line.split(/\s+/)
    if (words.length <= 1) {
      const hits = COMMANDS.filter(c => c.startsWith(line))
      return [hits.length > 0 ? hits : COMMANDS, line]
    }
    if (words.length === 2 && TAKES_NAME.has(words[0] as string)) {
      const partial = words[1] as string
      return [[...names].filter(n => n.startsWith(partial)).sort(), partial]
    }
    return [[], line]
  }
  const rl = createInterface({
    input: io.input, output: io.output, terminal, prompt: `voxmesh(${api.status().user})> `, completer, historySize: 200
  })
  const print = (text: string): void => { io.output.write(text + '\n') }
  let closed = false
  let busy = false

  /** An event line above the prompt, keeping what the user has typed so far. */
  const printAbove = (text: string): void => {
    if (closed || busy) { print(text); return }
    if (terminal) {
      clearLine(io.output, 0)
      cursorTo(io.output, 0)
      print(text)
      rl.prompt(true)
    } else {
      print('\n' + text)
      rl.prompt()
    }
  }

  const unsubscribe = api.subscribe(event => {
    if (event.event === 'presence' || event.event === 'contact-added') names.add(event.event === 'presence' ? event.user : event.username)
    if (event.event === 'contact-removed') names.delete(event.username)
    const text = formatEvent(event)
    if (text !== undefined) printAbove(text)
  })
  void api.contacts().then(list => { for (const c of list) names.add(c.username) }, () => {})

  const name = (word: string | undefined, usage: string): string => {
    if (word === undefined || word === '') throw new ShellUsageError(`usage: ${usage}`)
    const username = normalizeUsername(word)
    if (username === undefined) throw new ShellUsageError(`"${word}" is not a valid username (${USERNAME_RULE})`)
    return username
  }

  const callId = (word: string | undefined, usage: string): string | undefined => {
    if (word === undefined) return undefined
    if (!CALL_ID.test(word)) throw new ShellUsageError(`usage: ${usage} (ID is the first characters of the id "calls" shows)`)
    return word
  }
  const peerOf = (id: string): string => api.calls().find(c => c.callId === id)?.peer ?? 'the caller'

  const execute = async (line: string): Promise<void> => {
    const match = /^(\S+)\s*(\S*)\s*([\s\S]*)$/.exec(line.trim())
    if (match === null) return
    const command = (match[1] as string).toLowerCase()
    const first = match[2] === '' ? undefined : match[2]
    const rest = match[3] as string
    switch (command) {
      case 'help':
      case '?': {
        const width = Math.max(...HELP.map(([usage]) => usage.length))
        print(HELP.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`).join('\n'))
        return
      }
      case 'status': print(formatStatus(api.status())); return
      case 'contacts': {
        const contacts = await api.contacts()
        for (const c of contacts) names.add(c.username)
        print(formatContacts(contacts))
        return
      }
      case 'requests': print(formatRequests(await api.requests())); return
      case 'add': {
        const who = name(first, 'add NAME [MESSAGE]')
        print(confirm.add(who, (await api.addContact(who, rest === '' ? undefined : rest)).status))
        return
      }
      case 'accept': { const who = name(first, 'accept NAME'); await api.acceptContact(who); names.add(who); print(confirm.accept(who)); return }
      case 'decline': {
        // A ringing call when there is one (and the word is its id, or nothing); else a contact request.
        const ringing = api.calls().filter(c => c.direction === 'incoming' && c.state === 'ringing')
        const call = first === undefined ? ringing[0] : ringing.find(c => c.callId.startsWith(first))
        if (call !== undefined) {
          api.declineCall(call.callId)
          print(`declined the call from ${call.peer}`)
          return
        }
        if (first === undefined) throw new ShellUsageError('no call is ringing; usage: decline NAME (a contact request) or decline [ID] (a ringing call)')
        const who = name(first, 'decline NAME')
        await api.declineContact(who)
        print(confirm.decline(who))
        return
      }
      case 'call': {
        const who = name(first, 'call NAME')
        const { callId: id } = await api.placeCall(who)
        print(`calling ${who} (id ${shortCallId(id)}); "hangup" ends it`)
        return
      }
      case 'answer': {
        const { callId: id } = await api.answerCall(callId(first, 'answer [ID]'))
        print(`answered ${peerOf(id)} (id ${shortCallId(id)})`)
        return
      }
      case 'hangup': { api.hangup(callId(first, 'hangup [ID]')); print('hung up'); return }
      case 'mute': { api.setMuted(true, callId(first, 'mute [ID]')); print('muted: the other side hears nothing from you'); return }
      case 'unmute': { api.setMuted(false, callId(first, 'unmute [ID]')); print('unmuted'); return }
      case 'calls': print(formatCalls(api.calls())); return
      case 'remove': { const who = name(first, 'remove NAME'); await api.removeContact(who); names.delete(who); print(confirm.remove(who)); return }
      case 'block': { const who = name(first, 'block NAME'); await api.block(who); print(confirm.block(who)); return }
      case 'unblock': { const who = name(first, 'unblock NAME'); await api.unblock(who); print(confirm.unblock(who)); return }
      case 'presence': {
        if (first === undefined) { print(`presence is ${api.status().presence}`); return }
        const status = first.toLowerCase()
        if (!isSettableStatus(status)) throw new ShellUsageError(`usage: presence ${SETTABLE_STATUSES.join('|')}`)
        api.setPresence(status)
        print(confirm.presence(status))
        return
      }
      case 'msg': {
        const who = name(first, 'msg NAME TEXT')
        if (rest.trim() === '') throw new ShellUsageError('usage: msg NAME TEXT')
        print(formatSendResult(who, await api.sendMessage(who, rest)).text)
        return
      }
      case 'quit':
      case 'exit':
        rl.close()
        return
      default:
        print(`unknown command "${command}"; type "help" for the list`)
    }
  }

  let queue = Promise.resolve()
  rl.on('line', line => {
    queue = queue.then(async () => {
      busy = true
      try {
        await execute(line)
      } catch (err) {
        print(`error: ${(err as Error).message ?? String(err)}`)
      } finally {
        busy = false
        if (!closed) rl.prompt()
      }
    })
  })
  // Ctrl-C on a terminal: leave, like Ctrl-D.
  rl.on('SIGINT', () => { rl.close() })

  print('type "help" for commands')
  rl.prompt()
  await new Promise<void>(resolve => {
    rl.once('close', () => {
      closed = true
      // Leave the terminal on a fresh line after Ctrl-C / Ctrl-D at the prompt.
      if (terminal && !busy) io.output.write('\n')
      void queue.then(() => {
        unsubscribe()
        resolve()
      })
    })
  })
}

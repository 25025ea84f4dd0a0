// `voxmesh open|status|role|balance|contacts|requests|presence|msg|messages|events`: talk to the node
// running on a data dir through its control API (control.json in that dir).
import { spawn } from 'node:child_process'
import { join, resolve as resolvePath } from 'node:path'
import { writePrivateFileAtomic } from '../../common/private-file.js'
import { Argument, Command, InvalidArgumentError } from 'commander'
import { UserError } from '../../common/user-error.js'
import { formatMoney } from '../../common/money.js'
import { isSettableStatus, SETTABLE_STATUSES, type SettableStatus } from '../../common/presence.js'
import { normalizeUsername } from '../../common/usernames.js'
import { DEFAULT_HISTORY_LIMIT, DEFAULT_NODE_DATA_DIR, MAX_HISTORY_LIMIT } from '../runtime/defaults.js'
import { ControlClient } from '../control/client.js'
import { WEB_LOGIN_FILE } from '../control/constants.js'
import type { RoleMode } from '../runtime/api.js'
import { confirm, formatContacts, formatEvent, formatHistory, formatRequests, formatSendResult, formatStatus } from '../control/format.js'

export interface ClientOptions { dataDir?: string, json?: boolean }

/** --data-dir and --json on a command. No commander default for --data-dir, so a parent's value can show through to a subcommand. */
export function clientOptions (command: Command): Command {
  return command
    .option('--data-dir <dir>', `data dir of the running node (default: "${DEFAULT_NODE_DATA_DIR}")`)
    .option('--json', 'print JSON instead of text')
}

/** Options of `command` over those of its parents (`voxmesh contacts --data-dir X add bob` works too). */
export function resolve (command: Command): { dataDir: string, json: boolean } {
  let dataDir: string | undefined
  let json = false
  for (let c: Command | null = command; c !== null; c = c.parent) {
    const opts = c.opts<ClientOptions>()
    dataDir ??= opts.dataDir
    json ||= opts.json === true
  }
  return { dataDir: dataDir ?? DEFAULT_NODE_DATA_DIR, json }
}

export function output (json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text + '\n')
}

function statusCommand (): Command {
  return clientOptions(new Command('status'))
    .description('the running node: user, role, the supernode it is attached to, peers, hosts, uptime')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const status = await ControlClient.fromDataDir(dataDir).status()
      output(json, status, formatStatus(status))
    })
}

function balanceCommand (): Command {
  return clientOptions(new Command('balance'))
    .description('your credit for calls to phone numbers (kept by the login server)')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const balance = await ControlClient.fromDataDir(dataDir).balance()
      output(json, balance, `balance: ${formatMoney(balance.balance, balance.currency)}`)
    })
}

/** A `contacts` subcommand taking NAME that calls `run` and prints its confirmation. */
function contactAction (name: string, description: string, run: (client: ControlClient, who: string) => Promise<void>,
  done: (who: string) => string, result: string): Command {
  return clientOptions(new Command(name))
    .description(description)
    .argument('<name>', 'username')
    .action(async (who: string, _opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const username = normalizeUsername(who) ?? who
      await run(ControlClient.fromDataDir(dataDir), who)
      output(json, { username, status: result }, done(username))
    })
}

function contactsCommand (): Command {
  const contacts = clientOptions(new Command('contacts'))
    .description('list your contacts with their status (online, away, busy, offline), or change them')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const list = await ControlClient.fromDataDir(dataDir).contacts()
      output(json, list, formatContacts(list))
    })
  contacts.addCommand(clientOptions(new Command('add'))
    .description('send a contact request (or accept the one NAME sent you)')
    .argument('<name>', 'username')
    .argument('[message...]', 'a note for NAME')
    .action(async (who: string, message: string[], _opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const username = normalizeUsername(who) ?? who
      const { status } = await ControlClient.fromDataDir(dataDir).addContact(who, message.length === 0 ? undefined : message.join(' '))
      output(json, { username, status }, confirm.add(username, status))
    }))
  contacts.addCommand(contactAction('accept', 'accept the contact request NAME sent you', (c, who) => c.acceptContact(who), confirm.accept, 'accepted'))
  contacts.addCommand(contactAction('decline', 'decline the contact request NAME sent you', (c, who) => c.declineContact(who), confirm.decline, 'declined'))
  contacts.addCommand(contactAction('remove', 'remove NAME from your contacts', (c, who) => c.removeContact(who), confirm.remove, 'removed'))
  contacts.addCommand(contactAction('block', 'block NAME: their requests and messages vanish', (c, who) => c.block(who), confirm.block, 'blocked'))
  contacts.addCommand(contactAction('unblock', 'unblock NAME', (c, who) => c.unblock(who), confirm.unblock, 'unblocked'))
  return contacts
}

function requestsCommand (): Command {
  return clientOptions(new Command('requests'))
    .description('contact requests: incoming (accept or decline them), outgoing, and recently accepted ones')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const requests = await ControlClient.fromDataDir(dataDir).requests()
      output(json, requests, formatRequests(requests))
    })
}

function presenceCommand (): Command {
  return clientOptions(new Command('presence'))
    .description('set your status as your contacts see it (invisible: shown offline, still callable)')
    .argument('<status>', SETTABLE_STATUSES.join('|'), (value: string) => {
      const status = value.toLowerCase()
      if (!isSettableStatus(status)) throw new InvalidArgumentError(`expected one of ${SETTABLE_STATUSES.join(', ')}`)
      return status
    })
    .action(async (status: SettableStatus, _opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      await ControlClient.fromDataDir(dataDir).setPresence(status)
      output(json, { status }, confirm.presence(status))
    })
}

function roleCommand (): Command {
  return clientOptions(new Command('role'))
    .description('serve as a supernode now, stop serving (hosts are handed off), or let the node decide (auto)')
    .addArgument(new Argument('<role>', 'supernode|host|auto').choices(['supernode', 'host', 'auto']))
    .action(async (role: RoleMode, _opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const result = await ControlClient.fromDataDir(dataDir).setRole(role)
      output(json, result, result.mode === 'auto' ? `role: auto (a ${result.role} for now; the node promotes itself when reachable and needed)` : `role: ${result.role}`)
    })
}

function msgCommand (): Command {
  return clientOptions(new Command('msg'))
    .description('send a text message to a contact; when NAME is offline the node keeps it and sends it when NAME comes online')
    .argument('<name>', 'username')
    .argument('<text...>', 'the message (the words are joined with spaces)')
    .action(async (who: string, words: string[], _opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const username = normalizeUsername(who) ?? who
      const result = await ControlClient.fromDataDir(dataDir).sendMessage(who, words.join(' '))
      output(json, { to: username, ...result }, formatSendResult(username, result))
    })
}

function messagesCommand (): Command {
  return clientOptions(new Command('messages'))
    .description('your conversation with NAME (oldest first), or the last message of each conversation; ' +
      'with --json, one JSON array of messages')
    .argument('[name]', 'username')
    .option('--limit <n>', `at most this many messages (conversations without NAME), 1 to ${MAX_HISTORY_LIMIT}; default ${DEFAULT_HISTORY_LIMIT}`, (value: string) => {
      const n = Number(value)
      if (!/^[0-9]+$/.test(value) || n < 1 || n > MAX_HISTORY_LIMIT) throw new InvalidArgumentError(`expected a number from 1 to ${MAX_HISTORY_LIMIT}`)
      return n
    })
    .action(async (who: string | undefined, opts: { limit?: number }, command: Command) => {
      const { dataDir, json } = resolve(command)
      const username = who === undefined ? undefined : normalizeUsername(who) ?? who
      const messages = await ControlClient.fromDataDir(dataDir).messages(who, opts.limit)
      output(json, messages, formatHistory(messages, username))
    })
}

function eventsCommand (): Command {
  return clientOptions(new Command('events'))
    .description('print the node\'s events as they happen until Ctrl-C: sentences, or with --json one JSON object per line (every event)')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const client = ControlClient.fromDataDir(dataDir)
      const stop = new AbortController()
      const abort = (): void => { stop.abort() }
      process.once('SIGINT', abort)
      process.once('SIGTERM', abort)
      // `voxmesh events | head` closes the pipe: stop quietly.
      process.stdout.on('error', abort)
      try {
        for await (const event of client.events(stop.signal)) {
          // Without --json, events people need not see (receipts, call stats) print nothing.
          const line = json ? JSON.stringify(event) : formatEvent(event)
          if (line !== undefined) process.stdout.write(line + '\n')
        }
      } finally {
        process.off('SIGINT', abort)
        process.off('SIGTERM', abort)
      }
      if (!stop.signal.aborted) throw new UserError(`the node at ${client.url} closed the event stream (did it stop?)`)
    })
}

/**
 * Hands the link to the desktop's browser where there is a desktop (xdg-open); false when there is
 * none to ask. The login token must not be in a command line (every local user can read those): the
 * browser gets a file of ours, readable by us only, that forwards to the link.
 */
function openInBrowser (url: string, dataDir: string): boolean {
  if ((process.env.DISPLAY ?? '') === '' && (process.env.WAYLAND_DISPLAY ?? '') === '') return false
  const forward = join(resolvePath(dataDir), WEB_LOGIN_FILE)
  writePrivateFileAtomic(forward, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${url}"><title>voxmesh</title>\n`)
  const child = spawn('xdg-open', [forward], { detached: true, stdio: 'ignore' })
  child.on('error', () => {})
  child.unref()
  return true
}

function openCommand (): Command {
  return clientOptions(new Command('open'))
    .description('a one-time link that signs a browser in to the node\'s web client (`voxmesh node --web`)')
    .action(async (_opts: ClientOptions, command: Command) => {
      const { dataDir, json } = resolve(command)
      const link = await ControlClient.fromDataDir(dataDir).webLoginLink()
      const opened = !json && openInBrowser(link.url, dataDir)
      output(json, link, `${opened ? 'opening it in your browser; if it does not open, open' : 'open'} this (it works once, within ${link.validSeconds} s):\n${link.url}`)
    })
}

export function clientCommands (): Command[] {
  return [openCommand(), statusCommand(), roleCommand(), balanceCommand(), contactsCommand(), requestsCommand(), presenceCommand(), msgCommand(), messagesCommand(), eventsCommand()]
}

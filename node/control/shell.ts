// The interactive shell `voxmesh node` opens on a terminal: one command per
// line against the NodeApi, events printed above the prompt as they come.
// Errors are printed, never thrown: only `quit`, Ctrl-C or end of input end it.
// The commands themselves are in shell-commands.ts.
import { clearLine, createInterface, cursorTo, type Completer } from 'node:readline'
import type { NodeApi } from '../runtime/api.js'
import { formatEvent } from './format.js'
import { COMMANDS, TAKES_NAME, executeLine } from './shell-commands.js'

export interface ShellIo {
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  /** Line editing, history and redrawing the prompt; defaults to whether output is a TTY. */
  terminal?: boolean
  /**
   * Where the program's log sentences go: the shell hands it a printer that writes above the prompt while it
   * runs, and undefined when it ends (so no log line lands in the middle of what the user types).
   */
  showLogs?: (printAbove: ((line: string) => void) | undefined) => void
}

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

  let queue = Promise.resolve()
  rl.on('line', line => {
    queue = queue.then(async () => {
      busy = true
      try {
        await executeLine(line, { api, print, names, quit: () => { rl.close() } })
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
  io.showLogs?.(printAbove)
  await new Promise<void>(resolve => {
    rl.once('close', () => {
      closed = true
      io.showLogs?.(undefined)
      // Leave the terminal on a fresh line after Ctrl-C / Ctrl-D at the prompt.
      if (terminal && !busy) io.output.write('\n')
      void queue.then(() => {
        unsubscribe()
        resolve()
      })
    })
  })
}

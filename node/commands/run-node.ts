// `voxmesh node`'s action, loaded only when the command runs. In order: the data
// dir's lock (a second node on it stops here, naming the first), the local checks
// (--record-dir), the control API and control.json (so `voxmesh status` answers
// while the node waits for the login server), then the node: --listen is bound
// before login, and every retry says it waits for the login server. Whatever
// fails before the node is up undoes what was started and exits non-zero.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve as resolvePath } from 'node:path'
import { createProgramLogger } from '../../common/logger.js'
import { PASSWORD_ENV, readPassword } from '../../common/password-input.js'
import { UserError } from '../../common/user-error.js'
import { DataDirInUseError, lockDataDir, type DataDirLock } from '../runtime/data-dir-lock.js'
import { startingNode } from '../runtime/starting-node.js'
import type { RunningNode } from '../runtime/node.js'
import type { LoginServerWait } from '../runtime/login-session.js'
import { isLoopbackHost, startControlServer, type RunningControlServer } from '../control/server.js'
import { parseHostPort } from '../../common/address.js'
import { controlInfoOf, newControlToken, removeControlFile, writeControlFile } from '../control/control-file.js'
import { runShell } from '../control/shell.js'
import { isForWebPagesOnly } from '../control/event-stream.js'
import { DEFAULT_NODE_DATA_DIR } from '../runtime/defaults.js'
import type { NodeCommandOptions } from './node.js'

export async function runNode (opts: NodeCommandOptions): Promise<void> {
  const lock = await lockOrExplain(opts.dataDir)
  // However this process ends, the lock goes with it (a SIGKILL leaves it: the next node takes it over).
  process.once('exit', lock.release)
  const interactive = opts.shell && process.stdin.isTTY === true && process.stdout.isTTY === true && !opts.json
  // In the shell, only warnings reach the terminal so the prompt stays readable.
  const logs = createProgramLogger(interactive && opts.logLevel === 'info' ? 'warn' : opts.logLevel, 'node', { json: opts.json })
  const log = logs.log
  if (lock.tookOverFrom !== undefined) log.warn({ pid: lock.tookOverFrom }, `took over ${lock.path} from pid ${lock.tookOverFrom}, which is no longer running`)

  let recordDir: string | undefined
  // With the web client and no password given, the user signs in in the page (not at a prompt).
  const signInInPage = opts.web !== undefined && opts.passwordFile === undefined && (process.env[PASSWORD_ENV] ?? '') === ''
  let password: string | undefined
  try {
    recordDir = opts.recordDir === undefined ? undefined : prepareRecordDir(opts.recordDir)
    password = signInInPage ? undefined : await readPassword({ passwordFile: opts.passwordFile, prompt: `Password for ${opts.user}: ` })
  } catch (err) {
    lock.release()
    throw err
  }
  const starting = startingNode({
    user: opts.user,
    password,
    loginServer: opts.loginServer,
    dataDir: opts.dataDir,
    role: opts.role,
    listen: opts.listen,
    advertise: opts.advertise,
    log,
    thresholds: { promoteAfterMs: opts.promoteAfter, minFreeMemoryMb: opts.minFreeMemory, maxLoadPerCore: opts.maxLoadPerCore },
    maxHosts: opts.maxHosts,
    minSupernodes: opts.minSupernodes,
    relayAllowPrivate: opts.relayAllowPrivate,
    maxLinksPerAddress: opts.maxLinksPerAddress,
    calls: {
      autoAnswer: opts.autoAnswer,
      play: opts.play === undefined ? undefined : resolvePath(opts.play),
      tone: opts.tone,
      recordDir,
      mic: opts.mic,
      speaker: opts.speaker,
      anyone: opts.allowCallsFromAnyone,
      callWaiting: opts.callWaiting,
      ringTimeoutMs: opts.ringTimeout
    }
  })

  // The control API comes up before login: a node that cannot be controlled never goes online.
  const token = newControlToken()
  let control: RunningControlServer
  try {
    control = await startControlServer(starting.api, { listen: typeof opts.web === 'string' ? opts.web : opts.control, token, logger: log, web: opts.web !== undefined })
  } catch (err) {
    lock.release()
    throw err
  }
  writeControlFile(opts.dataDir, { url: control.url, token, pid: process.pid })
  if (typeof opts.web === 'string' && !isLoopbackHost(parseHostPort(opts.web, true)?.host ?? '')) {
    log.warn({ web: opts.web }, `the web client and the control API listen on ${opts.web}, beyond loopback, over plain HTTP: login links, sessions, the password typed to sign in and the control token cross the network unencrypted (put it behind an HTTPS proxy, or keep it on loopback)`)
  }

  /** Undoes the start: control.json (if still ours), the control API, the node (hanging up its calls), then the lock. */
  const shutdown = async (): Promise<void> => {
    removeControlFile(opts.dataDir)
    await control.close()
    await starting.api.close()
    lock.release()
  }
  let stopping = false
  const stop = async (code: number): Promise<void> => {
    if (stopping) return
    stopping = true
    await shutdown()
    process.exit(code)
  }
  // npx forwards the terminal's Ctrl-C, so one keypress can arrive twice: a second signal while
  // stopping is absorbed (the hangups are bounded); a third quits at once.
  let signals = 0
  const onSignal = (): void => {
    signals++
    if (signals === 1) void stop(0)
    else if (signals === 3) process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const print = (event: object): void => { process.stdout.write(JSON.stringify(event) + '\n') }
  if (opts.json) starting.api.subscribe(event => { if (!isForWebPagesOnly(event)) print(event) })
  let node: RunningNode
  try {
    const hooks = { onLoginWait: opts.json ? (wait: LoginServerWait) => { print(waitingEvent(wait)) } : undefined }
    if (password === undefined) {
      if (opts.json) print({ event: 'waiting', for: 'sign-in', web: control.url })
      else process.stdout.write(`${opts.user}: sign in at the web client, ${control.url}: \`${openCommandFor(opts.dataDir)}\` prints a login link\n`)
    }
    node = await (password === undefined ? starting.signedIn(hooks) : starting.start(hooks))
  } catch (err) {
    if (stopping) return // stop() ends the process
    stopping = true
    await shutdown()
    throw err
  }

  const status = node.status()
  if (opts.json) {
    print({ event: 'ready', user: status.user, role: status.role, control: control.url, listen: status.listen, deviceKey: status.deviceKey, ...(opts.web === undefined ? {} : { web: control.url }) })
  } else {
    process.stdout.write(`voxmesh node ${status.user} is up (${status.role}); control API at ${control.url}\n`)
    if (opts.web !== undefined && password !== undefined) process.stdout.write(`web client at ${control.url}: \`${openCommandFor(opts.dataDir)}\` prints a login link\n`)
  }
  if (interactive) {
    await runShell(node, { input: process.stdin, output: process.stdout, showLogs: logs.human ? logs.redirect : undefined })
    await stop(0)
  }
}

/** The command that prints the web client's login link for this data dir. */
function openCommandFor (dataDir: string): string {
  return `voxmesh open${dataDir === DEFAULT_NODE_DATA_DIR ? '' : ` --data-dir ${dataDir}`}`
}

/** The --json event for a retry while the login server is unreachable or busy. */
function waitingEvent (wait: LoginServerWait): object {
  return { event: 'waiting', for: 'login-server', url: wait.url, attempt: wait.attempt, retryInSeconds: wait.retryInMs / 1000, reason: wait.reason }
}

/** The data dir's lock, or a sentence naming the node that holds it. */
async function lockOrExplain (dataDir: string): Promise<DataDirLock> {
  try {
    return await lockDataDir(dataDir)
  } catch (err) {
    if (!(err instanceof DataDirInUseError)) throw err
    const url = controlInfoOf(dataDir, err.pid)?.url
    throw new UserError(`another node is running on data dir ${dataDir} (pid ${err.pid}${url === undefined ? '' : `, control API at ${url}`}); ` +
      `stop it first, or give this one another --data-dir. If no node runs there, delete ${err.lockFile}.`, err.code)
  }
}

/** --record-dir, created if missing and checked writable now rather than at the first call. */
function prepareRecordDir (dir: string): string {
  const path = resolvePath(dir)
  try {
    // Recordings are private: folders made here are the user's alone.
    mkdirSync(path, { recursive: true, mode: 0o700 })
    const probe = join(path, `.voxmesh-write-check-${process.pid}`)
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (err) {
    throw new UserError(`--record-dir ${dir} cannot be used: ${describeFsError(err as NodeJS.ErrnoException)}`)
  }
  return path
}

function describeFsError (err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM': return `permission denied (${err.path ?? 'a folder on the way'})`
    case 'EEXIST': return `${err.path ?? 'it'} is a file, not a folder`
    case 'ENOTDIR': return 'a part of the path is a file, not a folder'
    case 'EROFS': return 'the file system is read-only'
    case 'ENOSPC': return 'no space left on the device'
    default: return err.message
  }
}

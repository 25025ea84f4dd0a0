// `voxmesh node`: run this device's node (host or supernode). Only the options
// and their parsers live here, so that defining the command loads nothing heavy;
// the action imports run-node.ts, which runs the node.
import { Command, InvalidArgumentError, Option } from 'commander'
import { parseHostPort } from '../../common/address.js'
import { parseDurationSeconds } from '../../common/duration.js'
import { DEFAULT_LOGIN_SERVER_URL } from '../../common/login-defaults.js'
import { LOG_LEVELS } from '../../common/log-levels.js'
import {
  DEFAULT_CONTROL_LISTEN, DEFAULT_MAX_LOAD_PER_CORE, DEFAULT_MIN_FREE_MEMORY_MB, DEFAULT_NODE_DATA_DIR, DEFAULT_PROMOTE_AFTER_MS
} from '../runtime/defaults.js'
import { DEFAULT_MAX_HOSTS, MAX_LINKS_PER_ADDRESS, MIN_SUPERNODES } from '../overlay/constants.js'
import { MAX_TONE_HZ, MIN_TONE_HZ } from '../control/constants.js'
import { DEFAULT_RING_TIMEOUT_MS } from '../calls/constants.js'

/** --ring-timeout bounds: long enough to reach the phone, short enough that a caller is not left hanging. */
const MIN_RING_TIMEOUT_SECONDS = 5
const MAX_RING_TIMEOUT_SECONDS = 600

const hostPort = (allowPortZero: boolean) => (value: string): string => {
  if (parseHostPort(value, allowPortZero) === undefined) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:7701')
  return value
}
const number = (what: string, min: number) => (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${what} must be a number ≥ ${min}`)
  return n
}
const toneHz = (value: string): number => {
  const hz = Number(value)
  if (value.trim() === '' || !Number.isFinite(hz) || hz < MIN_TONE_HZ || hz > MAX_TONE_HZ) {
    throw new InvalidArgumentError(`expected a frequency from ${MIN_TONE_HZ} to ${MAX_TONE_HZ} Hz`)
  }
  return hz
}
const promoteAfter = (value: string): number => {
  const seconds = parseDurationSeconds(value)
  if (seconds === undefined) throw new InvalidArgumentError('expected a duration like 10m, 30s or 0')
  return seconds * 1000
}
/** A default in milliseconds as people type it in a flag: 10m, 12h, 45s. */
const typed = (ms: number): string => ms % 3_600_000 === 0 && ms > 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : `${ms / 1000}s`
const ringTimeout = (value: string): number => {
  const seconds = parseDurationSeconds(value)
  if (seconds === undefined || seconds < MIN_RING_TIMEOUT_SECONDS || seconds > MAX_RING_TIMEOUT_SECONDS) {
    throw new InvalidArgumentError(`expected ${MIN_RING_TIMEOUT_SECONDS}–${MAX_RING_TIMEOUT_SECONDS} seconds, e.g. 45 or 2m`)
  }
  return seconds * 1000
}

export interface NodeCommandOptions {
  user: string
  loginServer: string
  dataDir: string
  role: 'auto' | 'host' | 'supernode'
  listen?: string
  advertise?: string
  control: string
  /** Serve the web client: true on the control address, or HOST:PORT to listen there (beyond loopback when asked). */
  web?: true | string
  passwordFile?: string
  json: boolean
  shell: boolean
  /** ms: commander names it after --promote-after, whose parser turns the duration into milliseconds. */
  promoteAfter: number
  minFreeMemory: number
  maxLoadPerCore: number
  maxHosts: number
  minSupernodes: number
  maxLinksPerAddress: number
  logLevel: string
  autoAnswer: boolean
  play?: string
  tone?: number
  recordDir?: string
  mic: boolean
  speaker: boolean
  allowCallsFromAnyone: boolean
  callWaiting: boolean
  /** ms: parsed from --ring-timeout's seconds. */
  ringTimeout: number
  relayAllowPrivate: boolean
}

export function nodeCommand (): Command {
  return new Command('node')
    .description('run this device\'s node: log in, join the overlay, serve as a supernode when able')
    .requiredOption('--user <name>', 'your username')
    .option('--login-server <url>', 'login server URL', DEFAULT_LOGIN_SERVER_URL)
    .option('--data-dir <dir>', 'device key, pinned login server key, host cache, control address and token; one node at a time (node.lock)', DEFAULT_NODE_DATA_DIR)
    .addOption(new Option('--role <role>', 'host, supernode, or auto (promote when reachable and needed)').choices(['auto', 'host', 'supernode']).default('auto'))
    .option('--listen <host:port>', 'where to accept overlay links (needed to become a supernode)', hostPort(true))
    .option('--advertise <host:port>', 'the address others dial (default: --listen); checked by dial-back before use', hostPort(false))
    .option('--control <host:port>', 'local control API address (loopback only)', hostPort(true), DEFAULT_CONTROL_LISTEN)
    .option('--web [host:port]', 'serve the web client with the control API, there if given (default: the --control address); `voxmesh open` prints its login link', hostPort(true))
    .option('--password-file <file>', 'read the password from this file (else $VOXMESH_PASSWORD, else a prompt)')
    .option('--json', 'print one JSON event per line on stdout', false)
    .option('--no-shell', 'run as a daemon even on a terminal (for `&` in a shell)')
    .addOption(new Option('--promote-after <duration>', 'uptime before --role auto may promote, e.g. 10m, 30s').argParser(promoteAfter)
      .default(DEFAULT_PROMOTE_AFTER_MS, typed(DEFAULT_PROMOTE_AFTER_MS)))
    .option('--min-free-memory <MB>', 'free memory needed to promote', number('--min-free-memory', 0), DEFAULT_MIN_FREE_MEMORY_MB)
    .option('--max-load-per-core <load>', 'CPU load average per core above which it does not promote', number('--max-load-per-core', 0), DEFAULT_MAX_LOAD_PER_CORE)
    .option('--max-hosts <n>', 'hosts a supernode serves before it redirects newcomers', number('--max-hosts', 1), DEFAULT_MAX_HOSTS)
    .option('--max-links-per-address <n>', 'links a supernode takes from one address (IPv4 address, IPv6 /64); labs with many hosts on one address raise it',
      number('--max-links-per-address', 1), MAX_LINKS_PER_ADDRESS)
    .option('--min-supernodes <n>', 'below this many known supernodes the mesh asks for promotions', number('--min-supernodes', 1), MIN_SUPERNODES)
    .option('--relay-allow-private', 'labs and tests only: let this supernode\'s TURN relay reach loopback and private addresses (refused by default)', false)
    .option('--auto-answer', 'answer incoming calls at once (bots, tests)', false)
    .addOption(new Option('--play <file>', 'what calls send by default: this WAV file, looped').conflicts('tone'))
    .addOption(new Option('--tone <hz>', `what calls send by default: a sine tone (${MIN_TONE_HZ}–${MAX_TONE_HZ} Hz)`).argParser(toneHz).conflicts('play'))
    .option('--record-dir <dir>', 'record every call\'s incoming audio to a WAV file here')
    .option('--mic', 'send audio from the microphone (needs SoX\'s `rec`)', false)
    .option('--speaker', 'play calls on the speaker (needs SoX\'s `play`)', false)
    .option('--allow-calls-from-anyone', 'take calls from users who are not your contacts', false)
    .option('--call-waiting', 'let a second call ring while in a call (else callers get busy)', false)
    .addOption(new Option('--ring-timeout <seconds>', 'an unanswered call gives up after this, e.g. 45 or 2m').argParser(ringTimeout)
      .default(DEFAULT_RING_TIMEOUT_MS, typed(DEFAULT_RING_TIMEOUT_MS)))
    .addOption(new Option('--log-level <level>', 'log level; logs go to stderr, as sentences on a terminal, else (or with --json) as JSON lines')
      .choices(LOG_LEVELS).default('info'))
    .action(async (opts: NodeCommandOptions) => {
      // The node itself (pino, fastify, node-datachannel, sodium...) loads only when this command runs.
      const { runNode } = await import('./run-node.js')
      await runNode(opts)
    })
}

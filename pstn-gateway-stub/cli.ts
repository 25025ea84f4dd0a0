// `voxmesh pstn-gateway`: the PSTN gateway stub's commands. Only the options load with the
// definitions; each action imports what it runs (the gateway loads the whole node).
import { Command, InvalidArgumentError, Option } from 'commander'
import { readFileSync } from 'node:fs'
import { LOG_LEVELS } from '../common/log-levels.js'
import { DEFAULT_LOGIN_SERVER_URL } from '../common/login-defaults.js'
import { UserError } from '../common/user-error.js'
import { DEFAULT_GATEWAY_DATA_DIR, DEFAULT_MAX_LINES } from './constants.js'

/** Where the service token comes from when --token-file is not given. */
export const SERVICE_TOKEN_ENV = 'VOXMESH_SERVICE_TOKEN'

/** The service token: --token-file (its first line), else $VOXMESH_SERVICE_TOKEN; never a default. */
export function readServiceToken (tokenFile: string | undefined): string {
  let token: string | undefined
  if (tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').split('\n')[0]?.trim()
    } catch (err) {
      throw new UserError(`cannot read the service token from ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  } else {
    token = process.env[SERVICE_TOKEN_ENV]?.trim()
  }
  if (token === undefined || token === '') {
    throw new UserError(`no service token: give --token-file FILE or set ${SERVICE_TOKEN_ENV} (\`voxmesh login-server add-service pstn\` prints one)`)
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new UserError('the service token is not one the login server issues (43 characters of base64url)')
  return token
}

const numbersOption = (): Option => new Option('--numbers <file>', 'the simulated phone network: a numbers file (default: the shipped one, fictional numbers only)')

interface StartOptions { loginServer: string, dataDir: string, numbers?: string, tokenFile?: string, maxLines: number, logLevel: string, json: boolean }

function numbersCommand (): Command {
  return new Command('numbers')
    .description('list the simulated network\'s numbers and what each does')
    .addOption(numbersOption())
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { numbers?: string, json?: boolean }) => {
      const [{ DEFAULT_NUMBERS_FILE, loadNumbersFile }, { formatNumbersTable, numbersListJson }] = await Promise.all([
        import('./numbers/numbers-file.js'), import('./numbers/list.js')
      ])
      const table = loadNumbersFile(opts.numbers ?? DEFAULT_NUMBERS_FILE)
      process.stdout.write(opts.json === true ? JSON.stringify(numbersListJson(table)) + '\n' : formatNumbersTable(table) + '\n')
    })
}

function assignCommand (): Command {
  return new Command('assign')
    .description('assign a phone number to a user: a phone call to it rings their devices (SkypeIn)')
    .argument('<number>', 'the number, +E.164')
    .argument('<user>', 'the user it rings')
    .option('--data-dir <dir>', 'the gateway\'s data dir', DEFAULT_GATEWAY_DATA_DIR)
    .action(async (number: string, user: string, opts: { dataDir: string }) => {
      const { assignNumber } = await import('./assignments.js')
      process.stdout.write(assignNumber(opts.dataDir, number, user) + '\n')
    })
}

interface RingFlags { from: string, to: string, play?: string, tone?: number, record?: string, duration?: number, loginServer: string, dataDir: string, tokenFile?: string, logLevel: string }

function ringCommand (): Command {
  const positive = (name: string) => (value: string): number => {
    const n = Number(value)
    if (!(n > 0 && n <= 86_400)) throw new InvalidArgumentError(`${name} must be a number of seconds above 0`)
    return n
  }
  return new Command('ring')
    .description('act as a phone caller: dial a number assigned to a user; their devices ring showing your number')
    .requiredOption('--from <number>', 'the phone caller\'s number, +E.164')
    .requiredOption('--to <number>', 'the number dialed (assigned to a user with `assign`)')
    .option('--play <file>', 'WAV file the phone caller says (looped)')
    .option('--tone <hz>', 'a tone the phone caller sends instead (default 440)', positive('--tone'))
    .option('--record <file>', 'record what the phone caller hears (WAV, 48 kHz, narrowband content)')
    .option('--duration <seconds>', 'hang up this long after the user answers', positive('--duration'))
    .option('--login-server <url>', 'the login server', DEFAULT_LOGIN_SERVER_URL)
    .option('--data-dir <dir>', 'the gateway\'s data dir (its number assignments and call records)', DEFAULT_GATEWAY_DATA_DIR)
    .option('--token-file <file>', `read the service token from this file (else $${SERVICE_TOKEN_ENV})`)
    .addOption(new Option('--log-level <level>', 'log level of the phone caller\'s device (stderr)').choices(LOG_LEVELS).default('warn'))
    .action(async (opts: RingFlags) => {
      const token = readServiceToken(opts.tokenFile)
      const [{ createProgramLogger }, { ring }] = await Promise.all([import('../common/logger.js'), import('./ring.js')])
      const { log } = createProgramLogger(opts.logLevel, 'pstn-ring', { json: false })
      const end = await ring({
        from: opts.from, to: opts.to, loginServer: opts.loginServer, dataDir: opts.dataDir, serviceToken: token, log,
        play: opts.play, tone: opts.tone, record: opts.record, durationSeconds: opts.duration,
        say: line => { process.stdout.write(line + '\n') }
      })
      if (!end.connected) throw new UserError(end.message)
    })
}

export function pstnGatewayCommand (): Command {
  const command = new Command('pstn-gateway')
    .description('run the PSTN gateway stub: calls to and from (simulated) phone numbers, as the service pstn')
    .option('--login-server <url>', 'the login server', DEFAULT_LOGIN_SERVER_URL)
    .option('--data-dir <dir>', 'the gateway\'s device key, call records and number assignments', DEFAULT_GATEWAY_DATA_DIR)
    .addOption(numbersOption())
    .option('--token-file <file>', `read the service token from this file (else $${SERVICE_TOKEN_ENV})`)
    .option('--max-lines <n>', 'calls carried at once; more are refused as congestion (SIP 503, Q.850 34)', (value: string) => {
      if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new InvalidArgumentError('expected a whole number from 1 to 9999')
      return Number(value)
    }, DEFAULT_MAX_LINES)
    .addOption(new Option('--log-level <level>', 'log level; logs go to stderr, as sentences on a terminal, else (or with --json) as JSON lines').choices(LOG_LEVELS).default('info'))
    .option('--json', 'logs as JSON lines (pino) even on a terminal', false)
    .action(async (opts: StartOptions) => {
      const token = readServiceToken(opts.tokenFile)
      const [{ createProgramLogger }, { DEFAULT_NUMBERS_FILE, loadNumbersFile }, { startGateway }] = await Promise.all([
        import('../common/logger.js'), import('./numbers/numbers-file.js'), import('./gateway.js')
      ])
      const numbers = loadNumbersFile(opts.numbers ?? DEFAULT_NUMBERS_FILE)
      const { log } = createProgramLogger(opts.logLevel, 'pstn-gateway', { json: opts.json })
      const gateway = await startGateway({ loginServer: opts.loginServer, dataDir: opts.dataDir, serviceToken: token, numbers, log, maxLines: opts.maxLines })
      process.stdout.write(`voxmesh PSTN gateway up as pstn: ${numbers.entries.length} numbers (${numbers.name})\n`)
      const stop = (signal: string): void => {
        log.info({ signal }, `shutting down on ${signal}`)
        gateway.close().then(() => process.exit(0), (err: Error) => {
          process.stderr.write(`voxmesh: the gateway did not close cleanly: ${err.message}\n`)
          process.exit(1)
        })
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
  // Options after a subcommand's name are the subcommand's (numbers has a --numbers of its own).
  command.enablePositionalOptions()
  for (const sub of [numbersCommand(), assignCommand(), ringCommand()]) command.addCommand(sub)
  return command
}

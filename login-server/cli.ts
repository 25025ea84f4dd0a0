// `voxmesh login-server`: start the central login server. Only the options load with
// the command's definition; its action imports the server (fastify, SQLite, libsodium...).
import { Command, InvalidArgumentError, Option } from 'commander'
import { parseDurationSeconds } from '../common/duration.js'
import { parseHostPort } from '../common/address.js'
import { LOG_LEVELS } from '../common/log-levels.js'
import {
  DEFAULT_ARGON2_MEMORY_KIB, DEFAULT_ARGON2_OPS, DEFAULT_CERTIFICATE_TTL_SECONDS, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_MAX_SUPERNODES_PER_ADDRESS
} from './constants.js'
import { DATABASE_URL_ENV } from './store/database-url.js'

/** DEFAULT_CERTIFICATE_TTL_SECONDS as people type it (a test checks they agree). */
export const DEFAULT_CERTIFICATE_TTL_TEXT = '12h'

const positiveInt = (name: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`)
  return n
}

/** Runs an operator's command: its sentence on stdout; an AdminError's message on stderr, exit 1. */
async function runAdmin (run: (admin: typeof import('./admin.js')) => Promise<string>): Promise<void> {
  const admin = await import('./admin.js')
  try {
    process.stdout.write(`${await run(admin)}\n`)
  } catch (err) {
    if (!(err instanceof admin.AdminError)) throw err
    process.stderr.write(`voxmesh: ${err.message}\n`)
    process.exitCode = 1
  }
}

/** --database, or $VOXMESH_DATABASE_URL: the URL may hold a password, which is better kept off command lines. */
const databaseOption = (): Option => new Option('--database <url>', 'a PostgreSQL database (postgres://user:password@host/name) that several instances share; default: a SQLite file in the data dir')
  .env(DATABASE_URL_ENV)

function adminCommands (): Command[] {
  const dataDir = (): Option => new Option('--data-dir <dir>', 'the login server\'s data dir').default(DEFAULT_DATA_DIR)
  return [
    new Command('add-service')
      .description('create a service account (e.g. pstn, for the PSTN gateway) and print its token, alone on stdout; it is shown once')
      .argument('<name>', 'the service\'s name, a username nobody has')
      .addOption(dataDir())
      .addOption(databaseOption())
      .action(async (name: string, opts: { dataDir: string, database?: string }) => { await runAdmin(async admin => await admin.addService(opts, name)) }),
    new Command('credit')
      .description('add credit to a user (for calls to phone numbers)')
      .argument('<name>', 'the user')
      .argument('<amount>', 'minor units (cents) to add, e.g. 500 for 5.00 EUR', (value: string) => {
        const minor = /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : undefined
        if (minor === undefined) throw new InvalidArgumentError('expected a whole number of cents from 1 to 999999999, e.g. 500 for 5.00 EUR')
        return minor
      })
      .option('--note <text>', 'what the credit is for, kept in the ledger', 'credit added by the operator')
      .addOption(dataDir())
      .addOption(databaseOption())
      .action(async (name: string, amount: number, opts: { dataDir: string, database?: string, note: string }) => {
        await runAdmin(async admin => await admin.addCredit(opts, name, amount, opts.note.slice(0, 200)))
      })
  ]
}

export function loginServerCommand (): Command {
  const command = new Command('login-server')
    .description('run the central login server: accounts, certificates, contact lists, supernode bootstrap list')
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free port)', (value: string) => {
      if (parseHostPort(value, true) === undefined) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:7700')
      return value
    }, DEFAULT_LISTEN)
    .option('--data-dir <dir>', 'where the signing key and lookup secret (mode 0600) and the SQLite database live', DEFAULT_DATA_DIR)
    .addOption(databaseOption())
    .addOption(new Option('--certificate-ttl <duration>', 'lifetime of device certificates, e.g. 12h, 90m, 3600')
      .argParser((value: string) => {
        const seconds = parseDurationSeconds(value)
        if (seconds === undefined || seconds < 60 || seconds > 7 * 86400) throw new InvalidArgumentError('expected a duration between 1m and 7d, e.g. 12h')
        return seconds
      })
      .default(DEFAULT_CERTIFICATE_TTL_SECONDS, DEFAULT_CERTIFICATE_TTL_TEXT))
    .option('--argon2-ops <n>', 'argon2id passes per password hash', positiveInt('--argon2-ops'), DEFAULT_ARGON2_OPS)
    .option('--argon2-memory <MiB>', 'argon2id memory per password hash, MiB', positiveInt('--argon2-memory'), DEFAULT_ARGON2_MEMORY_KIB / 1024)
    .option('--max-supernodes-per-address <n>', 'supernodes admitted at once per IPv4 address or IPv6 /64; more than 2 only for labs and tests on one machine', positiveInt('--max-supernodes-per-address'), DEFAULT_MAX_SUPERNODES_PER_ADDRESS)
    .option('--trust-proxy', 'take client addresses from X-Forwarded-For (only behind your own reverse proxy)', false)
    .addOption(new Option('--log-level <level>', 'log level; logs go to stderr, as sentences on a terminal, else (or with --json) as JSON lines').choices(LOG_LEVELS).default('info'))
    .option('--json', 'logs as JSON lines (pino) even on a terminal', false)
    .action(async (opts: {
      listen: string, dataDir: string, database?: string, certificateTtl: number, argon2Ops: number, argon2Memory: number, trustProxy: boolean, logLevel: string, json: boolean, maxSupernodesPerAddress: number
    }) => {
      const [{ loggerOptions, programLogDestination }, { startLoginServer }] = await Promise.all([
        import('../common/logger.js'), import('./server.js')
      ])
      const server = await startLoginServer({
        listen: opts.listen,
        dataDir: opts.dataDir,
        database: opts.database,
        certificateTtlSeconds: opts.certificateTtl,
        argon2: { ops: opts.argon2Ops, memoryKib: opts.argon2Memory * 1024 },
        trustProxy: opts.trustProxy,
        maxSupernodesPerAddress: opts.maxSupernodesPerAddress,
        logger: { ...loggerOptions(opts.logLevel, 'login-server'), stream: programLogDestination({ json: opts.json }).stream }
      })
      process.stdout.write(`voxmesh login server listening on ${server.url}\n`)
      process.stdout.write(`public key: ${server.publicKey}${server.keyCreated ? ' (new signing key created)' : ''}\n`)
      process.stdout.write(`data dir: ${opts.dataDir}\n`)
      process.stdout.write(`database: ${server.database}\n`)
      const stop = (signal: string): void => {
        server.app.log.info({ signal }, 'shutting down on signal')
        void server.close().then(() => process.exit(0))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
  // The subcommands have a --data-dir of their own: options after their name are theirs.
  command.enablePositionalOptions()
  for (const admin of adminCommands()) command.addCommand(admin)
  return command
}

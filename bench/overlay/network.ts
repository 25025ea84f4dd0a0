// The bench's network of real processes: a login server (cheap argon2id, --trust-proxy, room for
// several supernodes on 127.0.0.1), and supernode and user node processes, each with its data dir.
import { join } from 'node:path'
import { ControlClient } from '../../node/index.js'
import type { NodeStatus } from '../../node/index.js'
import { freePort } from '../lib/ports.js'
import { waitUntil } from '../lib/wait.js'
import { Proc, runCliOk } from '../lib/processes.js'
import { MAX_HOSTS, PASSWORD } from './constants.js'

export const NODE_ENV = { VOXMESH_PASSWORD: PASSWORD }

export interface Net {
  url: string
  login: Proc
  startNode: (user: string, args: string[]) => Promise<Proc>
  startSupernode: (user: string) => Promise<Proc>
  /** Starts a node for an existing account, and waits for it to be ready. */
  startNodeProcess: (user: string, args: string[]) => Promise<Proc>
  dataDir: (user: string) => string
  status: (user: string) => Promise<NodeStatus>
  /** Waits until the node is attached to a supernode (its 'attached' event may come before --json output starts). */
  attached: (user: string) => Promise<NonNullable<NodeStatus['supernode']>>
}

export async function startNet (dir: string): Promise<Net> {
  const login = new Proc('login server', ['login-server', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'login'),
    '--argon2-ops', '1', '--argon2-memory', '1', '--trust-proxy', '--log-level', 'warn',
    // Every supernode of the bench runs on 127.0.0.1: the lab flag.
    '--max-supernodes-per-address', '8'])
  const url = (await login.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  const dataDir = (user: string): string => join(dir, user)
  const startNodeProcess = async (user: string, args: string[]): Promise<Proc> => {
    const node = new Proc(user, ['node', '--user', user, '--login-server', url, '--data-dir', dataDir(user), '--json', '--log-level', 'warn', ...args], NODE_ENV)
    await node.waitForEvent(e => e.event === 'ready', 30_000)
    return node
  }
  return {
    url,
    login,
    startNodeProcess,
    startNode: async (user, args) => {
      await runCliOk(['account', 'create', user, '--login-server', url], NODE_ENV)
      return await startNodeProcess(user, args)
    },
    startSupernode: async user => {
      await runCliOk(['account', 'create', user, '--login-server', url], NODE_ENV)
      // Every host of the bench connects from 127.0.0.1: the lab flag for links per address.
      return await startNodeProcess(user, ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--max-hosts', String(MAX_HOSTS),
        '--max-links-per-address', String(2 * MAX_HOSTS)])
    },
    dataDir,
    status: async user => JSON.parse(await runCliOk(['status', '--json', '--data-dir', dataDir(user)])) as NodeStatus,
    attached: async user => {
      const client = ControlClient.fromDataDir(dataDir(user))
      return await waitUntil(`${user} to attach to a supernode`, async () => (await client.status()).supernode, 30_000, 50)
    }
  }
}

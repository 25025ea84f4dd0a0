// Real nodes in this process (the node runtime, not `voxmesh` processes): a login server and
// nodes on loopback, each with a data dir under one temporary folder. Every node's events are
// recorded from its start, so a test can wait for one that has already happened. close() stops
// the nodes (last started first) and the login server, and removes the folder.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoginClient } from '../../common/login-client.js'
import { startLoginServer, type RunningLoginServer } from '../../login-server/server.js'
import type { Logger } from '../../common/logger.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import { createNode, type RunningNode } from '../../node/runtime/node.js'
import { TEST_PASSWORD } from './voxmesh-net.js'
import { waitUntil } from './wait.js'

type NodeOptions = Parameters<typeof createNode>[0]

export interface InProcessNet {
  dir: string
  login: RunningLoginServer
  /** Starts `user` as a host with its media on 127.0.0.1; `extra` overrides any option. */
  startNode: (user: string, extra?: Partial<NodeOptions>) => Promise<RunningNode>
  /** Each started node's events so far. */
  events: Map<RunningNode, NodeEvent[]>
  /** The first event of `node` that `match` accepts, past or future. */
  waitForEvent: (node: RunningNode, match: (event: NodeEvent) => boolean, timeoutMs: number) => Promise<NodeEvent>
  close: () => Promise<void>
}

/** `users`: the accounts to create (password TEST_PASSWORD); `log`: the logger for each user's node. */
export async function startInProcessNet (options: { dirPrefix: string, users: string[], log: (user: string) => Logger }): Promise<InProcessNet> {
  const dir = mkdtempSync(join(tmpdir(), options.dirPrefix))
  const login = await startLoginServer({ listen: '127.0.0.1:0', dataDir: join(dir, 'login'), argon2: { ops: 1, memoryKib: 64 } })
  const client = new LoginClient(login.url)
  for (const user of options.users) await client.createAccount(user, TEST_PASSWORD)
  const nodes: RunningNode[] = []
  const events = new Map<RunningNode, NodeEvent[]>()

  return {
    dir,
    login,
    events,
    startNode: async (user, extra = {}) => {
      const started = await createNode({
        user, password: TEST_PASSWORD, loginServer: login.url, dataDir: join(dir, user), role: 'host', log: options.log(user), mediaBindAddress: '127.0.0.1', ...extra
      })
      const list: NodeEvent[] = []
      events.set(started, list)
      started.subscribe(event => { list.push(event) })
      nodes.push(started)
      return started
    },
    waitForEvent: async (node, match, timeoutMs) => await waitUntil(
      () => `a matching event on ${node.status().user}; events: ${JSON.stringify(events.get(node))}`,
      () => events.get(node)?.find(match), timeoutMs, 25),
    close: async () => {
      for (const node of nodes.reverse()) await node.close()
      await login.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

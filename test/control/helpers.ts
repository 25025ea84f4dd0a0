// Shared bits of the control tests: a token, a listening control server on a
// free loopback port, and waiting for a condition.
import { newControlToken } from '../../node/control/control-file.js'
import { startControlServer, type ControlServerOptions, type RunningControlServer } from '../../node/control/server.js'
import { FakeNodeApi } from './fake-node-api.js'

export const TOKEN = newControlToken()
export const AUTH = { authorization: `Bearer ${TOKEN}` }

export interface Running { api: FakeNodeApi, server: RunningControlServer }

const open = new Set<Running>()

export async function startFakeNode (options: Partial<ControlServerOptions> = {}, api = new FakeNodeApi()): Promise<Running> {
  const server = await startControlServer(api, { listen: '127.0.0.1:0', token: TOKEN, ...options })
  const running = { api, server }
  open.add(running)
  return running
}

/** Closes every server startFakeNode started, and stops its fake node's timers (call in afterEach). */
export async function closeAll (): Promise<void> {
  await Promise.all([...open].map(async ({ api, server }) => { await server.close(); await api.close() }))
  open.clear()
}

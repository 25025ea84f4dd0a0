// Shared setup of the memory network tests: a server machine listening, a way to
// dial it from client machines on the fake clock, and a recorder of what arrives.
import { FakeClock } from '../../node/net/fake-clock.js'
import { createMemoryNetwork, type MemoryNetworkOptions } from '../../node/net/memory-network.js'
import type { Connection } from '../../node/net/transport.js'

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

export interface Recorder { frames: string[], times: number[], closes: string[] }

export function record (connection: Connection, clock: FakeClock): Recorder {
  const rec: Recorder = { frames: [], times: [], closes: [] }
  connection.setHandlers({
    onFrame: frame => { rec.frames.push(str(frame)); rec.times.push(clock.now()) },
    onClose: reason => { rec.closes.push(reason) }
  })
  return rec
}

/** A network with server 10.0.0.1 listening on :7000 and a helper to dial it from a client machine. */
export async function setup (options: Partial<MemoryNetworkOptions> = {}) {
  const clock = new FakeClock(0)
  const network = createMemoryNetwork({ clock, latencyMs: 10, ...options })
  const server = network.machine('10.0.0.1')
  const accepted: Connection[] = []
  const listener = await server.listen('10.0.0.1:7000', connection => { accepted.push(connection) })
  const connect = async (from = '10.0.0.2'): Promise<Connection> => {
    let done = false
    const dialing = network.machine(from).dial('10.0.0.1:7000').finally(() => { done = true })
    for (let waited = 0; !done && waited < 10_000; waited++) {
      clock.advance(1)
      await Promise.resolve()
    }
    return await dialing
  }
  return { clock, network, server, listener, accepted, connect }
}

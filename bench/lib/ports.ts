// Free TCP ports on loopback, for benchmarks, the demo and (through
// test/helpers/ports.ts) the tests: this folder is compiled, test/ is not.
import { createServer } from 'node:net'

/**
 * A TCP port on `host` that nothing listens on: bound and released at once. With `port`,
 * that very port when it is free (and an error when it is not).
 */
export async function freePort (host = '127.0.0.1', port = 0): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve) })
  const bound = (server.address() as { port: number }).port
  await new Promise(resolve => server.close(resolve))
  return bound
}

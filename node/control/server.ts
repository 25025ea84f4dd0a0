// The node's local control API: HTTP + a Server-Sent Events stream on a
// loopback address, guarded by a bearer token kept in the data dir. The client
// subcommands use it, and so can any UI or bot. The app itself is app.ts
// (tests inject() into it); this binds it to a loopback listener.
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { formatHostPort, parseHostPort } from '../../common/address.js'
import { UserError } from '../../common/user-error.js'
import type { NodeApi } from '../runtime/api.js'
import { DEFAULT_CONTROL_LISTEN } from '../runtime/defaults.js'
import { systemClock } from '../../common/clock.js'
import { buildControlApp, type ControlApp, type ControlAppOptions } from './app.js'
import { WebAccess } from './web-access.js'

export { buildControlApp, type ControlApp, type ControlAppOptions } from './app.js'

export interface ControlServerOptions extends Omit<ControlAppOptions, 'web'> {
  /** HOST:PORT on a loopback address (any address with `web`, given by the user); port 0 picks a free one. */
  listen?: string
  token: string
  /** Serve the web client too (`--web`). */
  web?: boolean
}

export interface RunningControlServer {
  url: string
  app: ControlApp
  close: () => Promise<void>
}

export async function startControlServer (api: NodeApi, opts: ControlServerOptions): Promise<RunningControlServer> {
  const listenText = opts.listen ?? DEFAULT_CONTROL_LISTEN
  const listen = parseHostPort(listenText, true)
  if (listen === undefined) throw new UserError(`--control-listen must be HOST:PORT, got "${listenText}"`)
  if (!isLoopbackHost(listen.host) && opts.web !== true) {
    throw new UserError(`the control API only listens on loopback (127.0.0.1, ::1, localhost), not ${listen.host}: anyone who reaches it controls the node`)
  }
  let allowedHosts: string[] = []
  const web = opts.web === true ? { access: new WebAccess({ clock: systemClock }), allowedHosts: () => allowedHosts } : undefined
  const app = buildControlApp(api, opts.token, { ...opts, web })
  try {
    await app.listen({ host: listen.host, port: listen.port })
  } catch (err) {
    await app.close()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new UserError(`cannot listen for the control API on ${formatHostPort(listen)}: ${code === 'EADDRINUSE' ? 'the port is in use (EADDRINUSE)' : code}`)
    }
    throw err
  }
  const { port } = app.server.address() as { port: number }
  allowedHosts = hostsOf(listen.host, port)
  // A wildcard listener is reached here through loopback: the link `voxmesh open` prints uses that.
  const urlHost = isWildcard(listen.host) ? (listen.host.includes(':') ? '::1' : '127.0.0.1') : listen.host
  let closing: Promise<void> | undefined
  return {
    url: `http://${formatHostPort({ host: urlHost, port })}`,
    app,
    close: () => (closing ??= app.close())
  }
}

function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

/** The Host values a page may send: the address listened on (each of the machine's for a wildcard one), and localhost's name on loopback. */
function hostsOf (host: string, port: number): string[] {
  const addresses = isWildcard(host)
    ? Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(info => info.address)).filter(address => !address.includes('%'))
    : [host]
  const names = isWildcard(host) || isLoopbackHost(host) ? [...addresses, 'localhost'] : addresses
  // A browser leaves the default port out of Host.
  return names.flatMap(name => {
    const withPort = formatHostPort({ host: name, port })
    return port === 80 ? [withPort, withPort.slice(0, withPort.lastIndexOf(':'))] : [withPort]
  })
}

export function isLoopbackHost (host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) {
    const lower = host.toLowerCase()
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(lower)
  }
  return false
}

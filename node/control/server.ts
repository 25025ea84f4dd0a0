// The node's local control API: HTTP + a Server-Sent Events stream on a
// loopback address, guarded by a bearer token kept in the data dir. The client
// subcommands use it, and so can any UI or bot. The app itself is app.ts
// (tests inject() into it); this binds it to a loopback listener.
import { isIP } from 'node:net'
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
  allowedHosts = [formatHostPort({ host: listen.host, port })]
  if (isLoopbackHost(listen.host)) allowedHosts.push(`localhost:${port}`)
  let closing: Promise<void> | undefined
  return {
    url: `http://${formatHostPort({ host: listen.host, port })}`,
    app,
    close: () => (closing ??= app.close())
  }
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

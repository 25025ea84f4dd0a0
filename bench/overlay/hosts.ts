// Lightweight hosts: the real Host of node/overlay/host.ts over the ws transport, in this
// process, each its own account, device key and certificate, pointed at one supernode.
import { systemClock } from '../../common/clock.js'
import type { CreateSessionResponse } from '../../common/login-api.js'
import { silentLogger } from '../../common/logger.js'
import type { Sodium } from '../../common/sodium.js'
import type { Transport } from '../../node/index.js'
import { createHost, type Host } from '../../node/index.js'
import { createSupernodeCache } from '../../node/index.js'
import type { SupernodeRef } from '../../node/index.js'
import { ATTACH_TIMEOUT_MS } from './constants.js'

/** A logged-in bench user: what its host needs to register. */
export interface Identity {
  user: string
  deviceKey: string
  secretKey: Uint8Array
  certificate: CreateSessionResponse['certificate']
  lookup: CreateSessionResponse['lookup']
}

/** Every bench host still open: closed by the departures phase, or by the bench's cleanup. */
export const benchHosts: Host[] = []

export function closeBenchHosts (): void {
  for (const host of benchHosts.splice(0)) host.close()
}

export interface BenchHostInit {
  sodium: Sodium
  transport: Transport
  issuerKey: Uint8Array
  /** The only supernode the host knows. */
  target: SupernodeRef
  /** Detaches, re-attaches and no-supernode reasons after the first attach. */
  onTrouble: (what: string) => void
}

/** Starts a host and resolves with it (and its setup time) once attached; closed and undefined when not attached within ATTACH_TIMEOUT_MS. */
export function startBenchHost (init: BenchHostInit, id: Identity): Promise<{ host: Host, setupMs: number } | undefined> {
  const { sodium, transport, issuerKey, target, onTrouble } = init
  const cache = createSupernodeCache()
  cache.add([target], Date.now())
  return new Promise(resolve => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      host.close()
      resolve(undefined)
    }, ATTACH_TIMEOUT_MS)
    const host: Host = createHost(
      { sodium, clock: systemClock, transport, identity: { certificate: id.certificate, secretKey: id.secretKey }, issuerKey, log: silentLogger, cache },
      {
        user: id.user,
        deviceKey: id.deviceKey,
        lookup: id.lookup,
        onEvent: event => {
          if (event.event === 'attached' && !settled) {
            settled = true
            clearTimeout(timer)
            resolve({ host, setupMs: event.setupMs })
          } else if (event.event === 'attached') onTrouble(`re-attached to ${event.supernode.user === target.user ? 'C' : 'another supernode'}`)
          else if (event.event === 'detached') onTrouble(`detached: ${event.reason}`)
          else if (event.event === 'no-supernode') onTrouble(`no supernode: ${event.reason}`)
        }
      })
    host.start()
  })
}

// Application bodies: envelopes the overlay routes and verifies but does not
// interpret (see ApplicationBody in overlay/envelope-bodies.ts). Each
// application (calls today; a gateway or a web client tomorrow) registers the
// body types it owns; a body of a type nobody owns is logged and dropped.
import type { Logger } from '../../common/logger.js'
import type { ApplicationBody } from '../overlay/envelope-bodies.js'

export type BodyHandler = (from: { user: string, deviceKey: string }, body: ApplicationBody) => void

export interface ApplicationBodies {
  /** Claims `types` for `handler`; a type has one owner. */
  register: (types: readonly string[], handler: BodyHandler) => void
  deliver: BodyHandler
}

export function createApplicationBodies (log: Logger): ApplicationBodies {
  const handlers = new Map<string, BodyHandler>()
  return {
    register (types, handler) {
      for (const type of types) {
        if (handlers.has(type)) throw new Error(`application body type ${type} has an owner already`)
        handlers.set(type, handler)
      }
    },
    deliver (from, body) {
      const handler = handlers.get(body.type)
      if (handler !== undefined) handler(from, body)
      else log.warn({ from: from.user, type: body.type }, 'dropped a delivered body of a type no application here handles')
    }
  }
}

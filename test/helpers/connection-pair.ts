// Two ends of an in-process Connection for link tests: what one end sends reaches the other at
// once (queued until its handlers are set), and a close on either end reaches both.
import type { Connection, ConnectionHandlers } from '../../node/net/transport.js'

/** One end of a connection pair: a Connection, plus how the other end hands it frames and its close. */
interface PairEnd extends Connection { peer?: PairEnd, deliver: (frame: Uint8Array) => void, end: (reason: string) => void }

/** Two connected ends; frames are delivered at once (queued until the receiver set its handlers). */
export function connectionPair (): [Connection, Connection] {
  const make = (host: number): PairEnd => {
    let handlers: ConnectionHandlers | undefined
    const queued: Uint8Array[] = []
    const end: PairEnd = {
      remoteAddress: `198.18.0.${host}:4000`,
      closed: false,
      setHandlers (h) { handlers = h; for (const f of queued.splice(0)) h.onFrame(f) },
      deliver (frame) { if (end.closed) return; if (handlers === undefined) queued.push(frame); else handlers.onFrame(frame) },
      end (reason) { if (end.closed) return; (end as { closed: boolean }).closed = true; handlers?.onClose(reason) },
      send (frame) { if (!end.closed) end.peer?.deliver(frame) },
      close (reason = 'closed') { end.end(reason); end.peer?.end(`remote closed: ${reason}`) }
    }
    return end
  }
  const a = make(2)
  const b = make(1)
  a.peer = b
  b.peer = a
  return [a, b]
}

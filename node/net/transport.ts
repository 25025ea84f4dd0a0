// The only way protocol code touches the network: message-oriented connections
// (one frame = one binary WebSocket message on the real transport). The real
// transport is ws (ws-transport.ts); tests use the in-memory network
// (memory-network.ts) with latency, loss and partitions.

export interface ConnectionHandlers {
  onFrame: (frame: Uint8Array) => void
  /** Called once, whoever closed it; `reason` is for logs. */
  onClose: (reason: string) => void
}

export interface Connection {
  /** "host:port" of the other end as this side sees it. */
  readonly remoteAddress: string
  /**
   * Installs the handlers. Frames that arrived before are delivered right after,
   * in order, so nothing is lost between accept and setup.
   */
  setHandlers: (handlers: ConnectionHandlers) => void
  /** Queues a frame; silently dropped once closed. */
  send: (frame: Uint8Array) => void
  /** Idempotent. */
  close: (reason?: string) => void
  readonly closed: boolean
}

export interface Listener {
  /** The address actually bound ("host:port"; port 0 resolved). */
  readonly address: string
  /** Stops accepting and closes every connection it accepted. Idempotent. */
  close: () => Promise<void>
}

export interface Transport {
  /** Opens a connection; rejects (with a message saying why) when the address does not answer within `timeoutMs`. */
  dial: (address: string, timeoutMs?: number) => Promise<Connection>
  listen: (address: string, onConnection: (connection: Connection) => void) => Promise<Listener>
}

/** Bound on one frame on every transport. */
export const MAX_FRAME_BYTES = 64 * 1024
export const DEFAULT_DIAL_TIMEOUT_MS = 3000

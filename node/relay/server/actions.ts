// What the sans-IO TURN server asks its edge (udp/udp-turn-server.ts) to do.
import type { IpFamily, TransportAddress } from '../ip.js'

export type TurnAction =
  /** Send `bytes` from the listening socket to a client. */
  | { type: 'send-to-client', to: TransportAddress, bytes: Uint8Array }
  /**
   * Open a UDP socket on `address` for the allocation and call relayOpened (or relayFailed).
   * `evenPort`: its port must be even. `reserveNextAs`: also hold port+1, as a socket with
   * that id, for a later Allocate with the RESERVATION-TOKEN (EVEN-PORT with the R bit).
   */
  | { type: 'open-relay', allocationId: string, address: string, family: IpFamily, evenPort: boolean, reserveNextAs?: string }
  /** Send `bytes` from the allocation's relay socket to a peer. */
  | { type: 'send-to-peer', allocationId: string, to: TransportAddress, bytes: Uint8Array }
  /** Close the allocation's relay socket (idempotent; also sent for sockets that never opened). */
  | { type: 'close-relay', allocationId: string, reason: string }

export type SendToClient = TurnAction & { type: 'send-to-client' }

// The supernode DHT (Kademlia over supernode ids), sans-IO. See dht.ts.
export { createDht, type Dht, type DhtComponents, type DhtInit, type DhtStats } from './dht.js'
export { DhtError, isDhtError, type DhtErrorCode } from './errors.js'
export { keyFor, isHexId, xorDistance, compareDistance, commonPrefixLength, sortByDistance } from './ids.js'
export {
  parseRequest, parseResponse, parsePeer, parseRecord,
  DhtPeerSchema, DhtRecordSchema, DhtRequestSchema, DhtResponseSchema,
  type DhtPeer, type DhtRecord, type DhtRequest, type DhtResponse
} from './messages.js'
export * as dhtConstants from './constants.js'

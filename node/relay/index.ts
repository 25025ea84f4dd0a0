// The TURN relay: the STUN and TURN server (RFC 8489 / RFC 8656, clients on UDP or TCP) every
// supernode runs for the hosts it serves, and the host's side of TURN over TCP. What other
// layers and programs (the supernode role, calls, the benches) use of it; everything else in
// node/relay is its inside.
//   server/  the sans-IO state machine, a file per TURN method
//   udp/     the node:dgram edge that runs it (startTurnServer)
//   tcp/     its TCP clients (TURN over TCP)
//   bridge/  the host side: is UDP open to the relay (probeUdp), and a UDP ↔ TCP bridge for ICE agents that speak UDP only
//   stun/    the STUN message and ChannelData codec, and their framing on a stream
export {
  createTurnServer, deniedPeerReason, DROP_REASONS,
  type TurnServer, type TurnServerComponents, type TurnServerStats, type AllocationStats, type TurnAction, type DropReason
} from './server/turn-server.js'
export type { TurnServerInit, TurnQuotas } from './server/config.js'
export { startTurnServer, type StartTurnServerOptions, type RunningTurnServer, type UdpTurnServerStats } from './udp/udp-turn-server.js'
export type { TcpTurnLimits, TcpTurnStats } from './tcp/tcp-edge.js'
export { startTurnTcpBridge, type TurnTcpBridge, type TurnTcpBridgeOptions, type TurnTcpBridgeStats } from './bridge/tcp-bridge.js'
export { probeUdp, type UdpProbeOptions, type UdpProbeResult } from './bridge/udp-probe.js'
export { createRelayRouter, type RelayRouter, type RelayRouterOptions, type RelayRoute, type RelayAddress } from './bridge/relay-route.js'
export {
  TurnStreamDecoder, streamFrameSize, toStreamFrame, fromStreamFrame, DEFAULT_MAX_STREAM_FRAME_BYTES, MAX_STREAM_FRAME_BYTES,
  type StreamPushResult
} from './stun/stream.js'
export {
  issueTurnCredentials, verifyTurnCredentials, parseTurnUsername, turnPassword,
  type TurnCredentials, type TurnUsernameCheck, type TurnSecret
} from './credentials.js'
export {
  findAttribute, findAttributes, attributeName, type StunAttribute, type StunAttributeType
} from './stun/attributes.js'
export { packetKind, decodeStunHeader, messageType, type StunClass, type StunHeader } from './stun/header.js'
export {
  encodeStunMessage, decodeStunMessage,
  type StunMessage, type StunMessageInit, type StunDecodeResult, type StunEncodeOptions
} from './stun/message.js'
export { verifyIntegrity, longTermKey, saslPrep, type IntegrityCheck } from './stun/integrity.js'
export { crc32 } from './stun/fingerprint.js'
export { encodeChannelData, decodeChannelData, type ChannelDataDecodeResult } from './stun/channel-data.js'
export { addressKey, canonicalIp, ipFamily, ipToBytes, bytesToIp, type IpFamily, type TransportAddress } from './ip.js'
export { TurnError, isTurnError, type TurnErrorCode } from './errors.js'
export { ATTR, DEFAULT_MAX_ALLOCATIONS, METHOD } from './constants.js'
export * as turnConstants from './constants.js'

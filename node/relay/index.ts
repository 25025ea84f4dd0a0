// STUN and TURN relay (RFC 8489 / RFC 8656, UDP) run by every supernode for the hosts it serves.
export {
  createTurnServer, deniedPeerReason, DROP_REASONS,
  type TurnServer, type TurnServerComponents, type TurnServerStats, type AllocationStats, type TurnAction, type DropReason
} from './turn-server.js'
export type { TurnServerInit, TurnQuotas } from './config.js'
export { startTurnServer, type StartTurnServerOptions, type RunningTurnServer, type UdpTurnServerStats } from './udp-turn-server.js'
export {
  issueTurnCredentials, verifyTurnCredentials, parseTurnUsername, turnPassword,
  type TurnCredentials, type TurnUsernameCheck, type TurnSecret
} from './credentials.js'
export {
  encodeStunMessage, decodeStunMessage, decodeStunHeader, verifyIntegrity, longTermKey, saslPrep,
  encodeChannelData, decodeChannelData, packetKind, findAttribute, findAttributes, attributeName, messageType, crc32,
  type StunAttribute, type StunAttributeType, type StunClass, type StunHeader, type StunMessage, type StunMessageInit,
  type StunDecodeResult, type StunEncodeOptions, type IntegrityCheck, type ChannelDataDecodeResult
} from './stun-codec.js'
export type { TransportAddress } from './ip.js'
export { TurnError, isTurnError, type TurnErrorCode } from './errors.js'
export * as turnConstants from './constants.js'

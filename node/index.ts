// The node as a library: the one module other programs use it through (the
// CLI entry, the demo, the benchmarks, and the PSTN gateway and web client to
// come). What is not exported here is the node's own business.

// A running node and everything its users see of it.
export { createNode } from './runtime/node.js'
export type { NodeOptions, RunningNode } from './runtime/node-options.js'
export type {
  NodeApi, NodeEvent, NodeStatus, Role, ContactView, ContactRequestView, ContactRequestsView, SendMessageResult,
  CallAudioOptions, CallAudioStreams, CallInfo, CallMediaSummary, CallOptions, CallProgressEvent, CallSetup, CallStats, EndReason
} from './runtime/api.js'
export type { CallDefaults } from './calls/call-service.js'
export { CALL_ERRORS, type CallErrorCode } from './calls/errors.js'

// The control API's client (a running node's other front door), and what `call --json` prints.
// The command definitions themselves are node/cli.ts: the CLI loads them without all of the above.
export { ControlClient } from './control/client.js'
export type { CallLine } from './commands/call-commands.js'

// The audio toolkit: PCM frames, WAV files, Opus, resampling, analysis, the jitter buffer.
export { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, floatToInt16, int16ToFloat } from './media/audio/pcm.js'
export { parseWav, readWavFile } from './media/audio/wav.js'
export { createOpusDecoder, createOpusEncoder } from './media/audio/opus.js'
export { Resampler, resample } from './media/audio/resample.js'
export { compareSignals, dominantFrequency, levelDbfs } from './media/audio/analysis.js'
export { findExecutable } from './media/audio/sox.js'
export { createToneSource, createWavSource, type AudioSource } from './media/audio/sources.js'
export { createNullSink, createWavFileSink, type AudioSink } from './media/audio/sinks.js'
export { JitterBuffer } from './media/audio/jitter-buffer.js'
export { skipWithCrossFade } from './calls/playout.js'

// Media sessions (node-datachannel), for tools that measure them bare.
export { createMediaSession, shutdownMedia, type MediaIceServer, type MediaSession } from './media/media-session.js'

// The supernode's TURN relay and its STUN codec.
export {
  startTurnServer, issueTurnCredentials, decodeStunMessage, encodeStunMessage, encodeChannelData, findAttribute, longTermKey, packetKind,
  DEFAULT_MAX_ALLOCATIONS, METHOD,
  type RunningTurnServer, type StunAttribute, type StunMessage, type TransportAddress, type TurnSecret
} from './relay/index.js'

// The overlay's parts, for tools that run many hosts in one process.
export { createHost, type Host } from './overlay/host.js'
export { createSupernodeCache } from './overlay/supernode-cache.js'
export type { SupernodeRef } from './overlay/messages.js'
export { BEAT_INTERVAL_MS, PING_INTERVAL_MS } from './overlay/constants.js'
export { createWsTransport } from './net/ws-transport.js'
export type { Transport } from './net/transport.js'

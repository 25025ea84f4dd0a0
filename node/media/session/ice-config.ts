// The node-datachannel RtcConfig a session's PeerConnection gets, built from checked options:
// ICE servers (at most MAX_ICE_SERVERS, as objects: node-datachannel does not take the
// browser's {urls, username, credential}), the relay policy, the bind address and port range.
import { isIP } from 'node:net'
import type { RtcConfig } from 'node-datachannel'
import { DEFAULT_MEDIA_TIMEOUT_MS, MAX_ICE_SERVERS } from './constants.js'
import type { MediaIceServer, MediaSessionInit } from './types.js'

/** A problem with the list, or undefined when every server is acceptable. */
export function checkIceServers (servers: MediaIceServer[]): string | undefined {
  if (!Array.isArray(servers) || servers.length > MAX_ICE_SERVERS) return `iceServers must be an array of at most ${MAX_ICE_SERVERS}`
  for (const server of servers) {
    if (typeof server.hostname !== 'string' || !/^[A-Za-z0-9.\-:]{1,253}$/.test(server.hostname)) return 'an ICE server hostname is invalid'
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) return 'an ICE server port is invalid'
    for (const field of [server.username, server.password]) {
      if (field !== undefined && (typeof field !== 'string' || !/^[\x20-\x7e]{0,256}$/.test(field))) return 'an ICE server credential is invalid'
    }
    if (server.relayType !== undefined && server.relayType !== 'TurnUdp') return 'only TurnUdp relays are supported'
  }
  return undefined
}

/** The PeerConnection's configuration; throws TypeError on an invalid option. */
export function buildRtcConfig (init: Pick<MediaSessionInit, 'iceServers' | 'relayOnly' | 'bindAddress' | 'portRange'>): RtcConfig {
  const serverProblem = checkIceServers(init.iceServers)
  if (serverProblem !== undefined) throw new TypeError(serverProblem)
  const config: RtcConfig = {
    iceServers: init.iceServers.map(server => ({ ...server })),
    iceTransportPolicy: init.relayOnly === true ? 'relay' : 'all'
  }
  if (init.bindAddress !== undefined) {
    if (typeof init.bindAddress !== 'string' || isIP(init.bindAddress) === 0) throw new TypeError('bindAddress must be an IP address')
    config.bindAddress = init.bindAddress
  }
  if (init.portRange !== undefined) {
    const { begin, end } = init.portRange
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 1024 || end > 65535 || begin > end) {
      throw new TypeError('portRange must be integers with 1024 <= begin <= end <= 65535')
    }
    config.portRangeBegin = begin
    config.portRangeEnd = end
  }
  return config
}

/** The watchdog's timeout; throws TypeError unless it is a non-negative number. */
export function checkMediaTimeout (mediaTimeoutMs: number | undefined): number {
  const timeoutMs = mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new TypeError('mediaTimeoutMs must be a non-negative number')
  return timeoutMs
}

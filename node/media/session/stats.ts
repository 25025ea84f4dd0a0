// What a session counts and which path its ICE chose, for MediaStats.
import type { CandidateType } from '../sdp-guard.js'
import type { MediaStats } from './types.js'

export type MediaCounters = Pick<MediaStats, 'packetsSent' | 'bytesSent' | 'packetsReceived' | 'bytesReceived' | 'packetsDropped' | 'rtcpPacketsReceived' | 'invalidPacketsReceived'>
export type PathInfo = Pick<MediaStats, 'path' | 'localCandidateType' | 'remoteCandidateType' | 'selectedPair'>

export const UNKNOWN_PATH: PathInfo = { path: 'unknown' }

export function newCounters (): MediaCounters {
  return { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, packetsDropped: 0, rtcpPacketsReceived: 0, invalidPacketsReceived: 0 }
}

interface PairEnd { type: string, address: string, port: number }

/** ICE's selected candidate pair, as node-datachannel gives it. */
export interface SelectedPair { local: PairEnd, remote: PairEnd }

/**
 * The path of a selected pair. A peer's relayed address can first show up as peer-reflexive
 * (its checks arrive before its candidate); the signalled candidate at that address, which
 * `signalledType` looks up, says what it is.
 */
export function classifyPath (pair: SelectedPair, signalledType: (address: string, port: number) => CandidateType | undefined): PathInfo {
  const localType = pair.local.type as CandidateType
  let remoteType = pair.remote.type as CandidateType
  if (remoteType === 'prflx') remoteType = signalledType(pair.remote.address, pair.remote.port) ?? remoteType
  return {
    path: localType === 'relay' || remoteType === 'relay' ? 'relay' : 'direct',
    localCandidateType: localType,
    remoteCandidateType: remoteType,
    selectedPair: `${localType} ${pair.local.address}:${pair.local.port} -> ${remoteType} ${pair.remote.address}:${pair.remote.port}`
  }
}

// How one session set up, step by step: when the peer's description was applied, when the
// answerer's held candidates went to ICE (and why), when ICE and then DTLS connected, when the
// first packet arrived; the candidate types each side gathered; our DTLS role. Sans-IO: fed by
// the session's events, stamped with the injected clock. It answers "why was my call slow, or
// relayed" (MediaSession.setup(), the call's setup summary, `voxmesh calls --json`).
import type { Clock } from '../../../common/clock.js'
import { checkCandidate, type CandidateType } from '../sdp-guard.js'

/** Each step's time, as the session's clock read it (absent: not reached). */
export interface SetupSteps {
  remoteDescription?: number
  candidatesReleased?: number
  iceConnected?: number
  dtlsConnected?: number
  firstPacket?: number
}

export interface MediaSetup {
  steps: SetupSteps
  /** Why the answerer's hold of the offerer's candidates ended ("the offerer holds the answer", "ICE connected", ...). */
  releasedBecause?: string
  /** The types of the candidates we gathered, in the order first seen ("host", "srflx", "relay"). */
  localCandidates: CandidateType[]
  /** The types of the candidates the peer signalled. */
  remoteCandidates: CandidateType[]
  /** Our side of the DTLS handshake, once both descriptions say it. */
  dtlsRole?: 'client' | 'server'
}

export interface SetupTimeline {
  mark: (step: keyof SetupSteps) => void
  released: (why: string) => void
  localCandidate: (candidate: string) => void
  remoteCandidate: (type: CandidateType) => void
  /** `dtlsRole` as the session's descriptions say it (dtlsRoleOf). */
  report: (dtlsRole?: 'client' | 'server') => MediaSetup
}

/**
 * Our DTLS role from our description's a=setup and the peer's (RFC 8842): active is the client,
 * passive the server; the offerer's actpass leaves it to the answer.
 */
export function dtlsRoleOf (localSdp: string | undefined, remoteSetup: string | undefined): 'client' | 'server' | undefined {
  const ours = localSdp === undefined ? undefined : /^a=setup:(\w+)/m.exec(localSdp)?.[1]
  if (ours === 'active' || remoteSetup === 'passive') return 'client'
  if (ours === 'passive' || remoteSetup === 'active') return 'server'
  return undefined
}

export function createSetupTimeline (clock: Clock): SetupTimeline {
  const steps: SetupSteps = {}
  const local: CandidateType[] = []
  const remote: CandidateType[] = []
  let releasedBecause: string | undefined
  const addType = (list: CandidateType[], type: CandidateType): void => { if (!list.includes(type)) list.push(type) }
  return {
    mark (step) { steps[step] ??= clock.now() },
    released (why) {
      if (releasedBecause !== undefined) return
      steps.candidatesReleased ??= clock.now()
      releasedBecause = why
    },
    localCandidate (candidate) {
      const checked = checkCandidate(candidate)
      if (checked.ok) addType(local, checked.summary.type)
    },
    remoteCandidate (type) { addType(remote, type) },
    report: dtlsRole => ({
      steps: { ...steps },
      ...(releasedBecause === undefined ? {} : { releasedBecause }),
      localCandidates: [...local],
      remoteCandidates: [...remote],
      ...(dtlsRole === undefined ? {} : { dtlsRole })
    })
  }
}

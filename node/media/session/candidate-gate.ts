// The session's candidate policy, sans-IO: fed the peer's description, ICE state changes, our
// own gathered candidates and clock ticks; it decides which remote candidates ICE gets and when,
// and what the signalled candidates say about the path. No node-datachannel in here: the
// session hands `release`'s candidates to native code.
//
// - A relay-only session drops the peer's non-relay candidates (libjuice would still pair its
//   host socket with them, libdatachannel #1587).
// - The answerer holds the offerer's candidates (those inside the offer) until its ICE connects
//   (the offerer's checks reached it, so the offerer holds the answer), the offerer says it
//   applied our answer (peerHasAnswer: the call signaling's call-answer-applied; only where we
//   serve DTLS, below), or ANSWERER_CANDIDATE_HOLD_MS have passed (a peer that sends no such
//   word): the offerer must hold the answer before the answerer reaches it (the race described
//   in media-session.ts).
// - The side whose ICE connects first must serve DTLS: a client's ClientHello that waits for the
//   server's ICE costs a 1 s retransmission, or deadlocks the server (libdatachannel #1630).
//   Which side connects first depends on the answerer's network. The offerer checks first (on
//   the answer); where its checks reach the answerer unasked (on the same machine or LAN, or a
//   reachable answerer: a supernode), the offerer connects first, and keeps libdatachannel's
//   roles (the offerer serves); there the offerer's word does not end the hold, as our own
//   checks could then connect us first (on loopback, a call in 60 paid a 1 s retransmission so).
//   Behind a NAT that filters, the offerer's checks are dropped until the answerer's own checks
//   open it, and those succeed at once (the offerer's NAT opened on its own checks): the
//   answerer connects first, so it serves (a=setup:active in the offer it applies). A NAT that
//   lets anyone in (full cone) is taken for a filtering one: nothing before the answer tells
//   them apart, and the offerer's checks then race ours (1–3 calls in 10 pay a 1 s DTLS
//   retransmission in the lab).
//   An answerer behind a NAT still holds, though as the server it cannot land a handshake early:
//   its checks must come second, once the offerer's have opened the offerer's NAT, to be the
//   first that succeed.
// - A relayed answerer (relay-only, or offered relay candidates alone) serves DTLS too, and
//   releases at once, after the call that applied the offer returns: its checks go through
//   TURN permissions, which the offerer's side has made by then for its own checks.
import type { Clock, TimerHandle } from '../../../common/clock.js'
import { checkCandidate, filterSdpCandidates, splitSdpCandidates, type CandidateType } from '../sdp-guard.js'
import { ANSWERER_CANDIDATE_HOLD_MS, MAX_ICE_SERVERS } from './constants.js'
import type { MediaRole } from './types.js'

export interface CandidateGateInit {
  role: MediaRole
  relayOnly: boolean
  clock: Clock
  /** Hands the held candidates to ICE; called at most once, when the hold ends. */
  release: (candidates: string[], why: string) => void
  /** ANSWERER_CANDIDATE_HOLD_MS unless a test says otherwise. */
  holdMs?: number
  /** Answerer: the offerer's checks reach us unasked (a supernode, which passed the dial-back). */
  reachable?: boolean
  /** Answerer: `ip` is on our machine or one of our networks (a host candidate there reaches us at once). */
  onOurNetwork?: (ip: string) => boolean
}

/** What to do with a (checked) remote description. */
export interface RemoteDescriptionPlan {
  /** The description for native code: refused candidates out, the answerer's held ones out, setup rewritten where the answerer serves DTLS. */
  sdp: string
  /** The answerer's candidates to hold, "candidate:..." without "a="; empty for the offerer. */
  held: string[]
  /** Only relay candidates were signalled (or we are relay-only). */
  relayedPath: boolean
  /** Answerer: we serve DTLS (the description says a=setup:active for the offerer). */
  serveDtls: boolean
  /** The type of each candidate the description carried (refused ones too), in order. */
  signalledTypes: CandidateType[]
}

export interface CandidateGate {
  /** Sorts a remote description's candidates; remembers their types. */
  plan: (sdp: string) => RemoteDescriptionPlan
  /** Native code took the planned description: the answerer starts its hold (or releases at once). */
  applied: (plan: RemoteDescriptionPlan) => void
  /** ICE 'connected' or 'completed' ends the answerer's hold. */
  iceStateChanged: (state: string) => void
  /** The offerer said it applied our answer: the hold of an answerer that serves DTLS ends. */
  peerHasAnswer: () => void
  /** One of our own gathered candidates (with or without "a="): relayed ones are our TURN allocations. */
  localCandidate: (candidate: string) => void
  relayedAddresses: () => Array<{ ip: string, port: number }>
  /** The type a signalled candidate at this address had, to see through peer-reflexive pairs. */
  remoteCandidateType: (address: string, port: number) => CandidateType | undefined
  /** Idempotent: drops what is held and the hold timer; nothing is released after it. */
  close: () => void
}

export function createCandidateGate (init: CandidateGateInit): CandidateGate {
  const { role, relayOnly, clock } = init
  const holdMs = init.holdMs ?? ANSWERER_CANDIDATE_HOLD_MS
  /** "address:port" → type of every remote candidate signalled, to see through prflx pairs. */
  const remoteTypes = new Map<string, CandidateType>()
  const relayed = new Map<string, { ip: string, port: number }>()
  /** The answerer holds the offerer's candidates from the offer on until it releases them. */
  let holding = role === 'answerer'
  let applied = false
  let closed = false
  let held: string[] = []
  let holdTimer: TimerHandle | undefined
  /** We serve DTLS (planned from the offer): only then does the offerer's word end the hold. */
  let serving = false

  function release (why: string): void {
    if (!holding || !applied || closed) return
    holding = false
    if (holdTimer !== undefined) { clock.clearTimeout(holdTimer); holdTimer = undefined }
    const candidates = held
    held = []
    init.release(candidates, why)
  }

  return {
    plan (sdp) {
      // Candidates inside the description say what their addresses are: a relayed peer
      // first shows up as prflx.
      const signalledTypes: CandidateType[] = []
      let nearby = false
      const accepted = filterSdpCandidates(sdp, candidate => {
        signalledTypes.push(candidate.type)
        if (candidate.type === 'host' && init.onOurNetwork?.(candidate.address) === true) nearby = true
        if (relayOnly && candidate.type !== 'relay') return false
        const key = `${candidate.address}:${candidate.port}`
        if (!remoteTypes.has(key) || candidate.type === 'relay') remoteTypes.set(key, candidate.type)
        return true
      })
      const split = role === 'answerer' ? splitSdpCandidates(accepted) : { sdp: accepted, candidates: [] }
      const relayedPath = relayOnly || (remoteTypes.size > 0 && [...remoteTypes.values()].every(type => type === 'relay'))
      const serveDtls = role === 'answerer' && (relayedPath || !(init.reachable === true || nearby))
      const answererSdp = serveDtls ? split.sdp.replace(/^a=setup:actpass(?=\r?$)/m, 'a=setup:active') : split.sdp
      return { sdp: role === 'answerer' ? answererSdp : split.sdp, held: split.candidates, relayedPath, serveDtls, signalledTypes }
    },

    applied (plan) {
      if (closed || applied) return
      applied = true
      serving = plan.serveDtls
      if (role !== 'answerer') return
      held = [...plan.held]
      if (plan.relayedPath) {
        // As the DTLS server the answerer cannot land its handshake before the offerer holds
        // the answer: the offerer starts it, once its own ICE has connected.
        queueMicrotask(() => { release('relayed: the answerer serves DTLS') })
      } else {
        holdTimer = clock.setTimeout(() => { holdTimer = undefined; release('hold time over') }, holdMs)
      }
    },

    iceStateChanged (state) {
      if (state === 'connected' || state === 'completed') release(`ICE ${state}`)
    },

    peerHasAnswer () { if (serving) release('the offerer holds the answer') },

    localCandidate (candidate) {
      const own = checkCandidate(candidate)
      if (!own.ok || own.summary.type !== 'relay' || relayed.size >= MAX_ICE_SERVERS) return
      relayed.set(`${own.summary.address}:${own.summary.port}`, { ip: own.summary.address, port: own.summary.port })
    },

    relayedAddresses: () => [...relayed.values()],

    remoteCandidateType: (address, port) => remoteTypes.get(`${address}:${port}`),

    close () {
      if (closed) return
      closed = true
      held = []
      if (holdTimer !== undefined) { clock.clearTimeout(holdTimer); holdTimer = undefined }
    }
  }
}

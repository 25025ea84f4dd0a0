// Iterative Kademlia lookup: keep the candidates sorted by distance to the target, keep up
// to α queries in flight to the closest candidates not yet asked, add the peers they return,
// drop the ones that fail, and stop when the k closest remaining candidates have all
// answered (or the query budget is spent, or nobody is left to ask).
import { MAX_LOOKUP_CANDIDATES } from './constants.js'
import { compareDistance, xorDistance } from './ids.js'
import { copyPeer, type DhtPeer } from './messages.js'

export interface LookupInit {
  target: string
  /** Our own id: never a candidate. */
  selfId: string
  k: number
  alpha: number
  /** Total queries this lookup may send. */
  maxQueries: number
  /** Where to start: the closest peers from the routing table. */
  seeds: DhtPeer[]
  /** Asks one peer; resolves with the peers it returned, rejects when it failed. */
  query: (peer: DhtPeer) => Promise<DhtPeer[]>
  /** When it returns true the lookup stops with what it has. */
  isCancelled?: () => boolean
}

type CandidateState = 'new' | 'pending' | 'answered' | 'failed'

interface Candidate {
  peer: DhtPeer
  distance: Uint8Array
  state: CandidateState
}

/** Resolves with the (at most k) closest peers that answered, closest first. Never rejects. */
export function lookup (init: LookupInit): Promise<DhtPeer[]> {
  return new Promise(resolve => {
    let candidates: Candidate[] = []
    const seen = new Set<string>()
    let inFlight = 0
    let queries = 0
    let done = false

    const addPeers = (peers: DhtPeer[]): void => {
      let added = false
      for (const peer of peers) {
        if (peer.id === init.selfId || seen.has(peer.id)) continue
        seen.add(peer.id)
        candidates.push({ peer: copyPeer(peer), distance: xorDistance(peer.id, init.target), state: 'new' })
        added = true
      }
      if (!added) return
      candidates.sort((a, b) => compareDistance(a.distance, b.distance))
      // Bounded: the farthest candidates go (a late answer from one of them is still merged).
      if (candidates.length > MAX_LOOKUP_CANDIDATES) candidates = candidates.slice(0, MAX_LOOKUP_CANDIDATES)
    }

    const finish = (): void => {
      if (done) return
      done = true
      resolve(candidates.filter(c => c.state === 'answered').slice(0, init.k).map(c => ({ ...c.peer })))
    }

    const ask = (candidate: Candidate): void => {
      candidate.state = 'pending'
      inFlight++
      queries++
      let answer: Promise<DhtPeer[]>
      try {
        answer = init.query(candidate.peer)
      } catch (error) {
        answer = Promise.reject(error)
      }
      answer.then(
        peers => {
          candidate.state = 'answered'
          if (!done) addPeers(peers)
        },
        () => { candidate.state = 'failed' }
      ).finally(() => {
        inFlight--
        step()
      })
    }

    const step = (): void => {
      if (done) return
      if (init.isCancelled?.() === true) {
        finish()
        return
      }
      const closest = candidates.filter(c => c.state !== 'failed').slice(0, init.k)
      if (closest.every(c => c.state === 'answered')) {
        finish()
        return
      }
      for (const candidate of closest) {
        if (inFlight >= init.alpha || queries >= init.maxQueries) break
        if (candidate.state === 'new') ask(candidate)
      }
      if (inFlight === 0) finish()
    }

    addPeers(init.seeds)
    step()
  })
}

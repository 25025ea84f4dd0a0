// Fuzz (integration, real node-datachannel): SDP the guard approves, after SDP-aware mutation,
// handed to a real answering PeerConnection. The guard is the only thing between a peer's text
// and native code that may abort the process, so what it lets through must be taken (or refused
// with a reason) by the binding without bringing the process down. Random SDP the guard
// refuses never reaches the binding (the unit fuzz of the guard covers those).
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { createMediaSession, shutdownMedia } from '../../node/media/media-session.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { Rng } from './kit/rng.js'
import { fuzzConfig } from './kit/runner.js'
import { sdpInput } from './kit/sdp.js'

afterAll(() => { shutdownMedia() })

describe('fuzz: guard-approved mutated SDP into a real PeerConnection', () => {
  // Native sessions are costly: a small slice unless VOXMESH_FUZZ_NATIVE_INPUTS says otherwise.
  const { seed } = fuzzConfig(10)
  const inputs = Number(process.env.VOXMESH_FUZZ_NATIVE_INPUTS ?? 150)

  it(`hands ${inputs} approved offers to node-datachannel: each applied or refused, the process alive`, async () => {
    const rng = Rng.derive(seed, 'native-sdp')
    const outcomes = { applied: 0, refused: 0, drawn: 0 }
    const refusals = new Set<string>()
    const rssAtStart = process.memoryUsage().rss
    while (outcomes.applied + outcomes.refused < inputs) {
      // Let the binding's close callbacks run now and then, as they would between calls.
      if (++outcomes.drawn % 100 === 0) await new Promise(resolve => setImmediate(resolve))
      const sdp = sdpInput(rng, 'offer')
      if (!checkRemoteSdp(sdp, 'offer').ok) continue
      const session = createMediaSession({ role: 'answerer', iceServers: [], bindAddress: '127.0.0.1', log: silentLogger, onAudio: () => {}, onState: () => {} })
      try {
        const result = session.setRemoteDescription(sdp, 'offer')
        if (result.ok) outcomes.applied++
        else { outcomes.refused++; refusals.add(result.reason.slice(0, 120)); expect(result.reason.length).toBeGreaterThan(0) }
      } finally {
        session.close()
      }
    }
    const rssMiB = (bytes: number): string => (bytes / 2 ** 20).toFixed(0)
    console.log(`native-sdp (seed ${seed}): ${JSON.stringify(outcomes)}, RSS ${rssMiB(rssAtStart)} → ${rssMiB(process.memoryUsage().rss)} MiB; refused: ${[...refusals].join(' | ')}`)
    expect(outcomes.applied).toBeGreaterThan(0)
  }, 120_000)
})

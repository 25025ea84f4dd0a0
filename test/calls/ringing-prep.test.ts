// What a ringing call made ready is used once, and only through the attachment it came from: a
// host that re-attached while the call rang (even to the same supernode) gets it marked stale.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { Call } from '../../node/calls/call.js'
import { RingingPrep } from '../../node/calls/ringing-prep.js'
import { FakeClock } from '../../node/net/fake-clock.js'

const credentials = { host: '198.18.0.1', port: 3478, username: 'u', password: 'p', ttlSeconds: 600 }

/** A host's attachment is its SupernodeRef, a new object at every attach. */
function setup (): { prep: RingingPrep, call: Call, reattach: () => void } {
  let attachment = { address: '198.18.0.1:4000' }
  const call = new Call(new FakeClock(), silentLogger, { id: 'c1', direction: 'outgoing', peer: 'bob', state: 'ringing', relayOnly: false })
  return { prep: new RingingPrep(() => attachment), call, reattach: () => { attachment = { address: '198.18.0.1:4000' } } }
}

describe('a ringing call\'s preparation', () => {
  it('hands the offer and the credentials over once', async () => {
    const { prep, call } = setup()
    expect(prep.takeOffer(call)).toBeUndefined()
    prep.offer(call, Promise.resolve('v=0 offer'))
    prep.credentials(call, Promise.resolve(credentials))
    const offer = prep.takeOffer(call)
    expect(offer?.stale).toBe(false)
    expect(await offer?.sdp).toBe('v=0 offer')
    expect(prep.takeOffer(call)).toBeUndefined()
    expect(await prep.takeCredentials(call)).toEqual(credentials)
    expect(prep.takeCredentials(call)).toBeUndefined()
  })

  it('marks them stale when the host re-attached while the call rang, even to the same supernode', () => {
    const { prep, call, reattach } = setup()
    prep.offer(call, Promise.resolve('v=0 offer'))
    prep.credentials(call, Promise.resolve(credentials))
    reattach()
    expect(prep.takeOffer(call)?.stale).toBe(true)
    expect(prep.takeCredentials(call)).toBeUndefined()
  })

  it('keeps a failed offer from becoming an unhandled rejection until it is taken', async () => {
    const { prep, call } = setup()
    prep.offer(call, Promise.reject(new Error('gathering timed out')))
    await new Promise(resolve => setImmediate(resolve))
    await expect(prep.takeOffer(call)?.sdp).rejects.toThrow('gathering timed out')
  })
})

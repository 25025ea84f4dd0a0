// What a ringing call made ready is used once, and only through the supernode it came from:
// a host that re-homed while the call rang gets 'stale' (its offer's relay candidate is gone).
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { Call } from '../../node/calls/call.js'
import { RingingPrep } from '../../node/calls/ringing-prep.js'
import { FakeClock } from '../../node/net/fake-clock.js'

const credentials = { host: '198.18.0.1', port: 3478, username: 'u', password: 'p', ttlSeconds: 600 }

function setup (): { prep: RingingPrep, call: Call, moveTo: (supernode: string) => void } {
  let supernode = '198.18.0.1:4000'
  const call = new Call(new FakeClock(), silentLogger, { id: 'c1', direction: 'outgoing', peer: 'bob', state: 'ringing', relayOnly: false })
  return { prep: new RingingPrep(() => supernode), call, moveTo: next => { supernode = next } }
}

describe('a ringing call\'s preparation', () => {
  it('hands the offer and the credentials over once', async () => {
    const { prep, call } = setup()
    expect(prep.takeOffer(call)).toBeUndefined()
    prep.offer(call, Promise.resolve('v=0 offer'))
    prep.credentials(call, Promise.resolve(credentials))
    expect(await prep.takeOffer(call)).toBe('v=0 offer')
    expect(prep.takeOffer(call)).toBeUndefined()
    expect(await prep.takeCredentials(call)).toEqual(credentials)
    expect(prep.takeCredentials(call)).toBeUndefined()
  })

  it('calls them stale when the host moved to another supernode while the call rang', () => {
    const { prep, call, moveTo } = setup()
    prep.offer(call, Promise.resolve('v=0 offer'))
    prep.credentials(call, Promise.resolve(credentials))
    moveTo('198.18.0.2:4000')
    expect(prep.takeOffer(call)).toBe('stale')
    expect(prep.takeCredentials(call)).toBeUndefined()
  })

  it('keeps a failed offer from becoming an unhandled rejection until it is taken', async () => {
    const { prep, call } = setup()
    prep.offer(call, Promise.reject(new Error('gathering timed out')))
    await new Promise(resolve => setImmediate(resolve))
    await expect(prep.takeOffer(call)).rejects.toThrow('gathering timed out')
  })
})

// Calls to phone numbers: what a user may dial (checked before anything is sent), and how the
// number travels to the PSTN gateway and a phone caller's number to a user, over the real overlay
// (in-memory network, fake clock; media faked behind the MediaPort as in call-states.test.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { callTargetOf, PSTN_SERVICE } from '../../node/calls/call-target.js'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'
import { addTestnetPhone, type TestnetPhone } from '../../node/testing/testnet-calls.js'
import type { UserError } from '../../common/user-error.js'

describe('what a call is placed to', () => {
  it('a phone number, written with spaces, dashes or brackets, goes to the gateway as E.164; echo is the echo line', () => {
    expect(callTargetOf('+442079460123')).toEqual({ peer: PSTN_SERVICE, number: '+442079460123' })
    expect(callTargetOf('+44 (20) 7946-0123')).toEqual({ peer: PSTN_SERVICE, number: '+442079460123' })
    expect(callTargetOf('echo')).toEqual({ peer: PSTN_SERVICE, number: 'echo' })
    expect(callTargetOf('ECHO')).toEqual({ peer: PSTN_SERVICE, number: 'echo' })
    expect(callTargetOf('Bob')).toEqual({ peer: 'bob' })
  })

  it.each(['+', '+12', '+44abc2079460', '+4420794601234567', '+0442079460123', '++442079460123'])('refuses %j with a clear error before anything is dialed', input => {
    let error: UserError | undefined
    try { callTargetOf(input) } catch (err) { error = err as UserError }
    expect(error?.code).toBe('invalid_number')
    expect(error?.message).toMatch(/is not a valid phone number: phone numbers are "\+" and 8 to 15 digits/)
  })

  it('refuses a name that is neither a user nor a number', () => {
    expect(() => callTargetOf('no spaces allowed')).toThrow(/not a valid username/)
  })
})

describe('numbers over the overlay', () => {
  let net: Testnet
  afterEach(() => { net?.close() })

  async function phones (): Promise<{ alice: TestnetPhone, gateway: TestnetPhone, mallory: TestnetPhone }> {
    net = await createTestnet()
    await net.addSupernode('super1')
    const all: TestnetPhone[] = []
    const ref = net.supernodes[0]!.supernode.ref
    const isService = (user: string): boolean => user === PSTN_SERVICE
    const alice = addTestnetPhone(net, net.addHost('alice', { contacts: [PSTN_SERVICE, 'mallory'], supernodes: [ref] }), () => all, 0, isService)
    const gateway = addTestnetPhone(net, net.addHost(PSTN_SERVICE, { contacts: ['alice'], supernodes: [ref] }), () => all, 0, isService)
    const mallory = addTestnetPhone(net, net.addHost('mallory', { contacts: ['alice'], supernodes: [ref] }), () => all, 0, isService)
    all.push(alice, gateway, mallory)
    await net.run(1500)
    return { alice, gateway, mallory }
  }

  it('the gateway sees the number dialed; a busy line ends the call for the caller naming the number', async () => {
    const { alice, gateway } = await phones()
    const calling = alice.calls.call(PSTN_SERVICE, { number: '+442079460999' })
    await net.run(300)
    const callId = await calling
    expect(gateway.events).toContainEqual(expect.objectContaining({ event: 'incoming', callId, from: 'alice', number: '+442079460999' }))
    gateway.calls.decline(callId, 'busy')
    await net.run(300)
    expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'busy', message: '+442079460999 is busy' })
    expect(alice.calls.calls()[0]).toMatchObject({ number: '+442079460999' })
  })

  it('a phone caller\'s number reaches the user the gateway rings; the gateway can end a connected call with its own reason', async () => {
    const { alice, gateway } = await phones()
    const calling = gateway.calls.call('alice', { callerNumber: '+442079460555' })
    await net.run(300)
    const callId = await calling
    expect(alice.events).toContainEqual(expect.objectContaining({ event: 'incoming', callId, from: PSTN_SERVICE, callerNumber: '+442079460555' }))
    const answering = alice.calls.answer(callId)
    await net.run(300)
    await answering
    gateway.calls.hangup(callId, 'congestion')
    await net.run(300)
    expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'congestion', message: 'all lines are busy; call +442079460555 again later' })
  })

  it('a contact who is not a service cannot show a phone number: the invite\'s number is dropped everywhere', async () => {
    const { alice, mallory } = await phones()
    const calling = mallory.calls.call('alice', { callerNumber: '+442079460555' })
    await net.run(300)
    const callId = await calling
    const incoming = alice.events.find(e => e.event === 'incoming' && e.callId === callId)
    expect(incoming).toMatchObject({ from: 'mallory' })
    expect(incoming).not.toHaveProperty('callerNumber', '+442079460555')
    expect(alice.calls.calls()[0]?.callerNumber).toBeUndefined()
    mallory.calls.hangup(callId)
    await net.run(300)
    expect(alice.events.at(-1)).toMatchObject({ event: 'ended', message: 'missed call from mallory (they hung up before you answered)' })
  })
})

describe('call ids', () => {
  it('never start with "-", which a command line would read as an option', async () => {
    const { newCallId } = await import('../../node/calls/signaling/signaling.js')
    let calls = 0
    // A source whose first draws give ids starting with "-" (0xf8-0xfb base64url-encode to "-" first).
    const source = (n: number): Uint8Array => { calls++; return calls <= 3 ? new Uint8Array(n).fill(0xf8) : new Uint8Array(n).fill(0x11) }
    expect(Buffer.from(new Uint8Array(12).fill(0xf8)).toString('base64url').startsWith('-')).toBe(true)
    const id = newCallId(source)
    expect(id.startsWith('-')).toBe(false)
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(calls).toBe(4)
  })
})

// Which addresses count as on our machine or network (an offerer there reaches us without a NAT).
import { describe, expect, it } from 'vitest'
import { machineNetworks, onNetworks } from '../../node/media/session/networks.js'

describe('our networks', () => {
  it('matches addresses inside the given CIDRs and loopback, and nothing else', () => {
    const near = onNetworks(['192.168.1.20/24', 'fd00:1::5/64', 'not a cidr', '10.0.0.1/99'])
    expect(['192.168.1.1', '192.168.1.254', '127.0.0.1', '127.9.9.9', '::1', 'fd00:1::abcd'].map(near)).toEqual([true, true, true, true, true, true])
    expect(['192.168.2.1', '10.0.0.1', '8.8.8.8', 'fd00:2::1', 'nonsense', ''].map(near)).toEqual([false, false, false, false, false, false])
  })

  it('reads the machine\'s own networks, loopback among them', () => {
    const cidrs = machineNetworks()
    expect(cidrs).toContain('127.0.0.1/8')
    expect(onNetworks(cidrs)('127.0.0.1')).toBe(true)
  })
})

// The role a user switches while the node runs (the web client's "run as supernode", `voxmesh
// role`): on a fake clock, with a fake supernode role, so only the controller's decisions show.
import { describe, expect, it, vi } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { silentLogger } from '../../common/logger.js'
import { createPromotionController, type PromotionInit } from '../../node/runtime/promotion-controller.js'
import type { SupernodeRole } from '../../node/runtime/supernode-role.js'
import { PROMOTION_CHECK_MS } from '../../node/runtime/defaults.js'
import type { Role } from '../../node/runtime/api.js'

interface SetupOptions {
  /** Whether the supernode service starts (read at each start). */
  starts?: boolean
  /** What the login server answers to the first heartbeat (default: listed). */
  listed?: boolean
  /** startRole waits for this first (default: starts at once). */
  startGate?: Promise<void>
  /** The dial-back, when it should wait (default: answers ok at once). */
  checkReachable?: () => Promise<{ ok: boolean, reason?: string }>
}

function setup (init: Partial<PromotionInit> = {}, options: SetupOptions = {}) {
  const clock = new FakeClock()
  const handOff = vi.fn()
  const close = vi.fn()
  const startRole = vi.fn(async (): Promise<SupernodeRole | undefined> => { await options.startGate; return options.starts === false
    ? undefined
    : {
        supernode: { handOff },
        heartbeat: async () => options.listed === false ? { listed: false, unreachable: false, reason: 'not listed yet' } : { listed: true },
        run: () => {},
        close
      } as unknown as SupernodeRole })
  const roles: Array<{ role: Role, reason: string }> = []
  const controller = createPromotionController({
    clock,
    log: silentLogger,
    // A machine that passes every threshold.
    measure: () => ({ freeMemoryMb: 10_000, loadPerCore: 0 }),
    startRole,
    checkReachable: options.checkReachable ?? (async () => ({ ok: true })),
    attached: () => true,
    onRole: (role, reason) => { roles.push({ role, reason }) }
  }, { mode: 'host', thresholds: { promoteAfterMs: 0, minFreeMemoryMb: 1, maxLoadPerCore: 10 }, canServe: true, advertise: '198.18.0.1:7000', ...init })
  return { clock, controller, startRole, handOff, close, roles }
}

describe('switching the role while the node runs', () => {
  it('a host switched to supernode serves at once; switched back, it hands its hosts off and closes after a moment', async () => {
    const { clock, controller, handOff, close, roles } = setup()
    await controller.start()
    expect(controller.role).toBe('host')
    await controller.setMode('supernode')
    expect(controller.role).toBe('supernode')
    expect(controller.mode).toBe('supernode')
    expect(roles).toEqual([{ role: 'supernode', reason: 'switched on by the user' }])
    await controller.setMode('host')
    expect(controller.role).toBe('host')
    expect(handOff).toHaveBeenCalledWith('switched off by the user')
    expect(close).not.toHaveBeenCalled()
    clock.advance(1000)
    expect(close).toHaveBeenCalledOnce()
    expect(roles.at(-1)).toEqual({ role: 'host', reason: 'switched off by the user' })
  })

  it('refuses supernode on a node without an address others reach, and stays a host', async () => {
    const { controller, startRole } = setup({ canServe: false })
    await expect(controller.setMode('supernode')).rejects.toMatchObject({ code: 'cannot_serve', message: expect.stringContaining('--listen') })
    expect(controller.role).toBe('host')
    expect(controller.mode).toBe('host')
    expect(startRole).not.toHaveBeenCalled()
  })

  it('says so when the supernode service cannot start here', async () => {
    const { controller } = setup({}, { starts: false })
    await expect(controller.setMode('supernode')).rejects.toMatchObject({ code: 'cannot_serve' })
    expect(controller.role).toBe('host')
  })

  it('switched to host, an auto node stops promoting itself; switched back to auto, it does again', async () => {
    const { clock, controller, startRole } = setup({ mode: 'auto' })
    controller.setNetworkFacts({ capacityNeeded: true })
    await controller.start()
    await controller.setMode('host')
    await clock.advanceAsync(3 * PROMOTION_CHECK_MS, 500)
    expect(startRole).not.toHaveBeenCalled()
    expect(controller.role).toBe('host')
    await controller.setMode('auto')
    await clock.advanceAsync(PROMOTION_CHECK_MS + 500, 500)
    expect(startRole).toHaveBeenCalledOnce()
    expect(controller.role).toBe('supernode')
  })

  it('switching to the role it has changes nothing', async () => {
    const { controller, startRole, handOff } = setup({ mode: 'supernode' })
    await controller.start()
    await controller.setMode('supernode')
    expect(startRole).toHaveBeenCalledOnce()
    const fresh = setup()
    await fresh.controller.setMode('host')
    expect(fresh.handOff).not.toHaveBeenCalled()
    expect(handOff).not.toHaveBeenCalled()
  })
})

describe('a switch that meets another change', () => {
  it('supernode then host, asked at once: it ends a host, its hosts handed off and the service closed', async () => {
    const { clock, controller, handOff, close } = setup()
    const on = controller.setMode('supernode')
    const off = controller.setMode('host')
    await Promise.all([on, off])
    expect(controller.role).toBe('host')
    expect(controller.mode).toBe('host')
    expect(controller.supernode).toBeUndefined()
    expect(handOff).toHaveBeenCalledOnce()
    clock.advance(1000)
    expect(close).toHaveBeenCalledOnce()
  })

  it('host, asked while an auto check waits for its dial-back: the check does not promote', async () => {
    let answer: (result: { ok: boolean }) => void = () => {}
    const { clock, controller, startRole } = setup({ mode: 'auto' }, { checkReachable: async () => await new Promise(resolve => { answer = resolve }) })
    controller.setNetworkFacts({ capacityNeeded: true })
    await controller.start()
    await clock.advanceAsync(PROMOTION_CHECK_MS, 500)
    const off = controller.setMode('host')
    answer({ ok: true })
    await off
    await clock.advanceAsync(3 * PROMOTION_CHECK_MS, 500)
    expect(startRole).not.toHaveBeenCalled()
    expect(controller.role).toBe('host')
  })

  it('an auto node switched to supernode serves even before the login server lists it, as --role supernode does', async () => {
    const { controller } = setup({ mode: 'auto' }, { listed: false })
    await controller.setMode('supernode')
    expect(controller.role).toBe('supernode')
  })

  it('close() while the service starts: it is closed again, and the node stays a host', async () => {
    let open: () => void = () => {}
    const { controller, close } = setup({}, { startGate: new Promise(resolve => { open = resolve }) })
    const on = controller.setMode('supernode')
    await Promise.resolve()
    await Promise.resolve()
    controller.close()
    open()
    await expect(on).rejects.toMatchObject({ code: 'cannot_serve' })
    expect(close).toHaveBeenCalledOnce()
    expect(controller.role).toBe('host')
  })
})

describe('after a switch that failed or just happened', () => {
  it('an auto node whose switch to supernode failed goes on promoting itself', async () => {
    const options: SetupOptions = { starts: false }
    const { clock, controller, startRole } = setup({ mode: 'auto' }, options)
    controller.setNetworkFacts({ capacityNeeded: true })
    await controller.start()
    await expect(controller.setMode('supernode')).rejects.toMatchObject({ code: 'cannot_serve' })
    expect(controller.mode).toBe('auto')
    options.starts = true
    await clock.advanceAsync(2 * PROMOTION_CHECK_MS, 500)
    expect(startRole.mock.calls.length).toBeGreaterThanOrEqual(2)
    expect(controller.role).toBe('supernode')
  })

  it('switched on again within the hand-off second, the old service is closed before the new one starts (its port is free)', async () => {
    const { controller, startRole, close } = setup()
    await controller.setMode('supernode')
    await controller.setMode('host')
    expect(close).not.toHaveBeenCalled()
    const closedBeforeStart: boolean[] = []
    startRole.mockImplementationOnce(async () => { closedBeforeStart.push(close.mock.calls.length === 1); return undefined })
    await expect(controller.setMode('supernode')).rejects.toMatchObject({ code: 'cannot_serve' })
    expect(closedBeforeStart).toEqual([true])
  })
})

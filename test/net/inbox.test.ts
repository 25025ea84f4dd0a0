import { describe, expect, it } from 'vitest'
import { Inbox } from '../../node/net/inbox.js'

const frame = (n: number): Uint8Array => new Uint8Array([n])

describe('Inbox', () => {
  it('holds frames and the close until handlers are set, then delivers them in order in a microtask', async () => {
    const inbox = new Inbox()
    const seen: string[] = []
    inbox.frame(frame(1))
    inbox.frame(frame(2))
    inbox.close('gone')
    inbox.frame(frame(3))
    inbox.close('again')
    inbox.setHandlers({ onFrame: f => { seen.push(`f${f[0]}`) }, onClose: r => { seen.push(r) } })
    expect(seen).toEqual([])
    await Promise.resolve()
    expect(seen).toEqual(['f1', 'f2', 'gone'])
  })

  it('keeps arrival order when frames arrive while queued ones are still being delivered', async () => {
    const inbox = new Inbox()
    const seen: number[] = []
    inbox.frame(frame(1))
    inbox.setHandlers({
      onFrame: f => {
        seen.push(f[0] as number)
        if (f[0] === 1) inbox.frame(frame(2)) // arrives while 1 is being handled
      },
      onClose: () => {}
    })
    inbox.frame(frame(3)) // queued behind 1, not delivered ahead of it
    expect(seen).toEqual([])
    await Promise.resolve()
    expect(seen).toEqual([1, 3, 2]) // 2 arrived after 3
    inbox.frame(frame(4)) // nothing waiting: delivered at once
    expect(seen).toEqual([1, 3, 2, 4])
  })

  it('a local close drops undelivered frames and is never delivered re-entrantly', async () => {
    const inbox = new Inbox()
    const seen: string[] = []
    inbox.frame(frame(1))
    inbox.setHandlers({ onFrame: () => { seen.push('frame') }, onClose: r => { seen.push(r) } })
    inbox.close('closed locally', { dropPending: true, direct: false })
    expect(seen).toEqual([])
    await Promise.resolve()
    expect(seen).toEqual(['closed locally'])
  })

  it('keeps delivering the rest after a handler throws', async () => {
    const inbox = new Inbox()
    const seen: number[] = []
    const errors: unknown[] = []
    inbox.frame(frame(1))
    inbox.frame(frame(2))
    inbox.setHandlers({ onFrame: f => { seen.push(f[0] as number); if (f[0] === 1) throw new Error('handler bug') }, onClose: () => {} })
    const drain = (inbox as unknown as { drain: () => void }).drain.bind(inbox)
    try { drain() } catch (err) { errors.push(err) }
    await Promise.resolve()
    await Promise.resolve()
    expect(errors).toHaveLength(1)
    expect(seen).toEqual([1, 2])
  })
})

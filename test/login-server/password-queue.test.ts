// The password hasher's bounded two-lane queue: known devices' jobs go first,
// and when the queue is full one takes the place of the newest normal job.
import { afterEach, describe, expect, it } from 'vitest'
import { createPasswordHasher, type PasswordHasher } from '../../login-server/password-hasher.js'
import { CHEAP_ARGON2 } from '../helpers/login-server.js'

const MAX_PENDING = 4
let hasher: PasswordHasher | undefined

afterEach(async () => {
  await hasher?.close()
  hasher = undefined
})

/** One worker and a queue of MAX_PENDING: the order of settling is the order of work. */
async function oneWorker (): Promise<{ hasher: PasswordHasher, hash: string }> {
  hasher = await createPasswordHasher(CHEAP_ARGON2, 1, MAX_PENDING)
  return { hasher, hash: await hasher.hash('the password') }
}

describe('password queue', () => {
  it('runs known devices\' checks before waiting normal ones', async () => {
    const { hasher, hash } = await oneWorker()
    const order: string[] = []
    const track = (name: string, job: Promise<unknown>): Promise<void> => job.then(() => { order.push(name) }, () => { order.push(`${name} refused`) })
    const jobs = [
      track('running', hasher.verify('x', hash)),
      track('normal1', hasher.verify('x', hash)),
      track('normal2', hasher.verify('x', hash)),
      track('known1', hasher.verify('the password', hash, 'known')),
      track('known2', hasher.verify('the password', hash, 'known'))
    ]
    expect(hasher.pending()).toEqual({ known: 2, normal: 2 })
    await Promise.all(jobs)
    expect(order).toEqual(['running', 'known1', 'known2', 'normal1', 'normal2'])
  })

  it('when full, refuses a normal job, and a known job displaces the newest normal one, which is refused busy', async () => {
    const { hasher, hash } = await oneWorker()
    const settled: Array<Promise<boolean>> = []
    settled.push(hasher.verify('x', hash)) // running
    for (let i = 0; i < MAX_PENDING; i++) settled.push(hasher.verify('x', hash))
    expect(hasher.pending()).toEqual({ known: 0, normal: MAX_PENDING })

    await expect(hasher.verify('x', hash)).rejects.toMatchObject({ code: 'busy', statusCode: 503 })
    const known = hasher.verify('the password', hash, 'known')
    expect(hasher.pending()).toEqual({ known: 1, normal: MAX_PENDING - 1 })
    await expect(settled[MAX_PENDING] as Promise<boolean>).rejects.toMatchObject({ code: 'busy' })
    await expect(known).resolves.toBe(true)
    await Promise.all(settled.slice(0, MAX_PENDING))
  })

  it('stays bounded: a queue full of known jobs refuses one more known job too', async () => {
    const { hasher, hash } = await oneWorker()
    const settled: Array<Promise<boolean>> = [hasher.verify('x', hash)]
    for (let i = 0; i < MAX_PENDING; i++) settled.push(hasher.verify('the password', hash, 'known'))
    expect(hasher.pending()).toEqual({ known: MAX_PENDING, normal: 0 })
    await expect(hasher.verify('the password', hash, 'known')).rejects.toMatchObject({ code: 'busy' })
    expect(await Promise.all(settled)).toEqual([false, ...Array<boolean>(MAX_PENDING).fill(true)])
  })
})

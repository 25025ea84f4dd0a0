// argon2id hashing off the event loop. One hash costs tens of milliseconds and
// 64 MiB; on the main thread it would stall every other request, so a small
// pool of worker threads does it, behind a bounded queue. The queue has two
// lanes: known devices' logins go first, and when it is full one of them takes
// the place of the newest job of the other lane (which gets 503), so a flood of
// guesses from unknown devices cannot starve the users who log in from their
// own devices.
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { ApiError } from './errors.js'
import { MAX_PENDING_PASSWORD_JOBS } from './constants.js'

export interface Argon2Cost { ops: number, memoryKib: number }

/** 'known': a login from a known device; 'normal': everything else (other logins, sign-ups). */
export type PasswordJobPriority = 'known' | 'normal'

export interface PasswordHasher {
  readonly cost: Argon2Cost
  hash (password: string): Promise<string>
  /** Constant work whether or not the hash matches; `hash` undefined burns the same time (unknown user). */
  verify (password: string, hash: string | undefined, priority?: PasswordJobPriority): Promise<boolean>
  /** Jobs waiting for a worker, per lane. */
  pending (): { known: number, normal: number }
  close (): Promise<void>
}

// The worker is plain CommonJS evaluated from a string, so the same code runs
// from the compiled package and from TypeScript sources under the test runner.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
sodium.ready.then(() => {
  parentPort.on('message', ({ id, op, password, hash }) => {
    try {
      if (op === 'hash') {
        const result = sodium.crypto_pwhash_str(password, workerData.ops, workerData.memoryKib * 1024)
        parentPort.postMessage({ id, result })
      } else {
        parentPort.postMessage({ id, result: sodium.crypto_pwhash_str_verify(hash, password) })
      }
    } catch (err) {
      parentPort.postMessage({ id, error: String(err && err.message || err) })
    }
  })
  parentPort.postMessage({ ready: true })
})
`

interface Job { id: number, op: 'hash' | 'verify', password: string, hash?: string }
interface Pending { job: Job, resolve: (value: string | boolean) => void, reject: (err: Error) => void }

const busy = (): ApiError => new ApiError('busy', 'the server is busy checking passwords; try again shortly', 1)

export async function createPasswordHasher (
  cost: Argon2Cost, workers = Math.min(4, availableParallelism()), maxPending = MAX_PENDING_PASSWORD_JOBS
): Promise<PasswordHasher> {
  const { createRequire } = await import('node:module')
  const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo')
  const idle: Worker[] = []
  const all: Worker[] = []
  // Both lanes together hold at most maxPending jobs.
  const lanes: Record<PasswordJobPriority, Pending[]> = { known: [], normal: [] }
  const running = new Map<number, Pending>()
  let nextId = 1
  let closed = false

  const dispatch = (): void => {
    while (idle.length > 0 && lanes.known.length + lanes.normal.length > 0) {
      const worker = idle.pop() as Worker
      const pending = (lanes.known.shift() ?? lanes.normal.shift()) as Pending
      running.set(pending.job.id, pending)
      worker.postMessage(pending.job)
    }
  }

  await Promise.all(Array.from({ length: workers }, async () => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath, ...cost } })
    all.push(worker)
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', () => { resolve() })
    })
    worker.on('message', (msg: { id: number, result?: string | boolean, error?: string }) => {
      const pending = running.get(msg.id)
      running.delete(msg.id)
      idle.push(worker)
      if (msg.error !== undefined) pending?.reject(new Error(msg.error))
      else pending?.resolve(msg.result as string | boolean)
      dispatch()
    })
    idle.push(worker)
  }))

  const run = (op: Job['op'], password: string, hash?: string, priority: PasswordJobPriority = 'normal'): Promise<string | boolean> => {
    if (closed) return Promise.reject(new Error('password hasher is closed'))
    if (lanes.known.length + lanes.normal.length >= maxPending) {
      // Full: a known device's job displaces the newest normal one (the one that
      // would have waited longest), never another known one.
      const displaced = priority === 'known' ? lanes.normal.pop() : undefined
      if (displaced === undefined) return Promise.reject(busy())
      displaced.reject(busy())
    }
    return new Promise((resolve, reject) => {
      lanes[priority].push({ job: { id: nextId++, op, password, hash }, resolve, reject })
      dispatch()
    })
  }

  // A real hash of a random password: verifying against it costs what a real verify costs.
  const decoyHash = await run('hash', `decoy-${Math.random()}`) as string

  return {
    cost,
    hash: async password => await run('hash', password) as string,
    verify: async (password, hash, priority) => {
      const ok = await run('verify', password, hash ?? decoyHash, priority) as boolean
      return hash !== undefined && ok
    },
    pending: () => ({ known: lanes.known.length, normal: lanes.normal.length }),
    async close () {
      if (closed) return
      closed = true
      for (const pending of [...lanes.known.splice(0), ...lanes.normal.splice(0)]) pending.reject(new Error('password hasher closed'))
      await Promise.all(all.map(worker => worker.terminate()))
    }
  }
}

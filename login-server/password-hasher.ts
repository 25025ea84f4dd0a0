// argon2id hashing off the event loop. One hash costs tens of milliseconds and
// 64 MiB; on the main thread it would stall every other request, so a small
// pool of worker threads does it, behind a bounded queue.
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { ApiError } from './errors.js'
import { MAX_PENDING_PASSWORD_JOBS } from './constants.js'

export interface Argon2Cost { ops: number, memoryKib: number }

export interface PasswordHasher {
  readonly cost: Argon2Cost
  hash (password: string): Promise<string>
  /** Constant work whether or not the hash matches; `hash` undefined burns the same time (unknown user). */
  verify (password: string, hash: string | undefined): Promise<boolean>
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

export async function createPasswordHasher (cost: Argon2Cost, workers = Math.min(4, availableParallelism())): Promise<PasswordHasher> {
  const { createRequire } = await import('node:module')
  const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo')
  const idle: Worker[] = []
  const all: Worker[] = []
  const queue: Pending[] = []
  const running = new Map<number, Pending>()
  let nextId = 1
  let closed = false

  const dispatch = (): void => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop() as Worker
      const pending = queue.shift() as Pending
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

  const run = (op: Job['op'], password: string, hash?: string): Promise<string | boolean> => {
    if (closed) return Promise.reject(new Error('password hasher is closed'))
    if (queue.length >= MAX_PENDING_PASSWORD_JOBS) {
      return Promise.reject(new ApiError('busy', 'the server is busy checking passwords; try again shortly', 1))
    }
    return new Promise((resolve, reject) => {
      queue.push({ job: { id: nextId++, op, password, hash }, resolve, reject })
      dispatch()
    })
  }

  // A real hash of a random password: verifying against it costs what a real verify costs.
  const decoyHash = await run('hash', `decoy-${Math.random()}`) as string

  return {
    cost,
    hash: async password => await run('hash', password) as string,
    verify: async (password, hash) => {
      const ok = await run('verify', password, hash ?? decoyHash) as boolean
      return hash !== undefined && ok
    },
    async close () {
      if (closed) return
      closed = true
      for (const pending of queue.splice(0)) pending.reject(new Error('password hasher closed'))
      await Promise.all(all.map(worker => worker.terminate()))
    }
  }
}

// The raw argon2id rate, the ceiling a login's rate is set against: one verify's time in this
// process, and the rate of as many threads as the server has hash workers verifying at once
// (the cores share memory bandwidth, so this is the fair ceiling).
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { loadSodium } from '../../common/sodium.js'
import { percentile } from '../lib/measure.js'
import type { Argon2Cost } from './options.js'

export const PASSWORD = 'correct horse battery staple'

// libsodium in plain worker threads, verifying one hash in a loop until told to stop.
const RAW_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
sodium.ready.then(() => {
  parentPort.once('message', ({ until }) => {
    let done = 0
    while (Date.now() < until) { sodium.crypto_pwhash_str_verify(workerData.hash, workerData.password); done++ }
    parentPort.postMessage(done)
  })
  parentPort.postMessage('ready')
})
`

/** Verifies per second of `threads` threads at once for `durationMs`, once all of them are ready. */
export async function rawVerifyRate (hash: string, threads: number, durationMs: number): Promise<number> {
  const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo')
  const all = Array.from({ length: threads }, () => new Worker(RAW_WORKER_SOURCE, { eval: true, workerData: { sodiumPath, hash, password: PASSWORD } }))
  try {
    await Promise.all(all.map(w => new Promise(resolve => w.once('message', resolve))))
    const start = Date.now()
    const until = start + durationMs
    const counts = await Promise.all(all.map(w => new Promise<number>(resolve => { w.once('message', resolve); w.postMessage({ until }) })))
    return counts.reduce((a, b) => a + b, 0) * 1000 / (Date.now() - start)
  } finally {
    await Promise.all(all.map(w => w.terminate()))
  }
}

export interface InProcessVerify { hash: string, verifyMs: number[], medianMs: number }

/** A hash of PASSWORD at `cost`, and 20 verifies of it in this process, timed one by one. */
export async function timeVerify (cost: Argon2Cost): Promise<InProcessVerify> {
  const sodium = await loadSodium()
  const hash = sodium.crypto_pwhash_str(PASSWORD, cost.ops, cost.memoryMib * 1024 * 1024)
  const verifyMs: number[] = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    if (!sodium.crypto_pwhash_str_verify(hash, PASSWORD)) throw new Error('argon2id self-check failed')
    verifyMs.push(performance.now() - t)
  }
  return { hash, verifyMs, medianMs: percentile([...verifyMs].sort((a, b) => a - b), 50) }
}

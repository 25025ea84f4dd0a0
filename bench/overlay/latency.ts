// The latency series between alice (on A) and bob (on B): presence and messages across the two
// supernodes, and the baselines that show the overlay's share: a bare control-API call and a
// whole `voxmesh status` CLI process.
import { performance } from 'node:perf_hooks'
import { ControlClient } from '../../node/index.js'
import { series, sleep, type Series } from '../lib/measure.js'
import type { Net } from './network.js'
import type { Pair } from './pair.js'

export interface Baselines { controlGetStatus: Series, cliStatus: Series }
export interface PresenceFigures { event: Series, apiCall: Series }
export interface MessageFigures { event: Series, nodeToEvent: Series, receipt: Series, apiCall: Series }

export async function measureBaselines (net: Net, rounds: number): Promise<{ figures: Baselines, getStatus: number[] }> {
  const aliceApi = ControlClient.fromDataDir(net.dataDir('alice'))
  const getStatus: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    await aliceApi.status()
    getStatus.push(performance.now() - t0)
  }
  const cliStatus: number[] = []
  for (let i = 0; i < Math.min(rounds, 10); i++) {
    const t0 = performance.now()
    await net.status('alice')
    cliStatus.push(performance.now() - t0)
  }
  return { figures: { controlGetStatus: series(getStatus), cliStatus: series(cliStatus) }, getStatus }
}

/** Alternates away / online; latency until bob prints the change. */
export async function measurePresence (net: Net, pair: Pair, rounds: number): Promise<{ figures: PresenceFigures, presence: number[] }> {
  const aliceApi = ControlClient.fromDataDir(net.dataDir('alice'))
  const presence: number[] = []
  const presenceCall: number[] = []
  let presenceFail = 0
  for (let i = 0; i < rounds; i++) {
    const status = i % 2 === 0 ? 'away' : 'online'
    const from = pair.bob.events.length
    const t0 = performance.now()
    const seen = pair.bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === status, 10_000, from)
    await aliceApi.setPresence(status)
    presenceCall.push(performance.now() - t0)
    try {
      presence.push((await seen).at - t0)
    } catch {
      presenceFail++
      await aliceApi.setPresence('online')
      await sleep(1000)
    }
    await sleep(20)
  }
  if (presenceFail > 0) await aliceApi.setPresence('online')
  return { figures: { event: series(presence, presenceFail), apiCall: series(presenceCall) }, presence }
}

/** Until bob prints the message; the receipt time alice's node reports; the whole API call. */
export async function measureMessages (net: Net, pair: Pair, rounds: number): Promise<{ figures: MessageFigures, delivered: number[] }> {
  const aliceApi = ControlClient.fromDataDir(net.dataDir('alice'))
  const delivered: number[] = []
  const nodeToEvent: number[] = []
  const receipt: number[] = []
  const messageCall: number[] = []
  let messageFail = 0
  for (let i = 0; i < rounds; i++) {
    const text = `bench message ${i}`
    const from = pair.bob.events.length
    const t0 = performance.now()
    const seen = pair.bob.waitForEvent(e => e.event === 'message' && e.from === 'alice' && e.text === text, 10_000, from)
    try {
      const [event, result] = await Promise.all([seen, aliceApi.sendMessage('bob', text)])
      messageCall.push(performance.now() - t0)
      delivered.push(event.at - t0)
      nodeToEvent.push(event.wallAt - (event.event.sentAt as number))
      if (result.status === 'delivered') receipt.push(result.receiptMs)
      else messageFail++
    } catch {
      messageFail++
    }
    await sleep(20)
  }
  return {
    figures: { event: series(delivered, messageFail), nodeToEvent: series(nodeToEvent), receipt: series(receipt), apiCall: series(messageCall) },
    delivered
  }
}

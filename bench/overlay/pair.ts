// The two users the latency series run between: alice on supernode A, bob on B, contacts.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { NodeStatus } from '../../node/index.js'
import { runCliOk, type Proc } from '../lib/processes.js'
import { NODE_ENV, type Net } from './network.js'

export interface Pair {
  superA: Proc
  superB: Proc
  alice: Proc
  bob: Proc
  /** How many times bob was started before he landed on B. */
  bobAttempts: number
  aliceStatus: NodeStatus & { supernode: NonNullable<NodeStatus['supernode']> }
  bobStatus: NodeStatus & { supernode: NonNullable<NodeStatus['supernode']> }
}

/** alice joins while A is the only supernode; bob is restarted until he lands on B; then they become contacts. */
export async function startPair (net: Net): Promise<Pair> {
  const superA = await net.startSupernode('supera')
  await net.attached('supera')
  const alice = await net.startNode('alice', ['--role', 'host'])
  await net.attached('alice')
  const superB = await net.startSupernode('superb')
  await net.attached('superb')
  await runCliOk(['account', 'create', 'bob', '--login-server', net.url], NODE_ENV)
  let bob: Proc | undefined
  let bobAttempts = 0
  for (; bobAttempts < 10 && bob === undefined; bobAttempts++) {
    rmSync(join(net.dataDir('bob'), 'host-cache.json'), { force: true })
    const candidate = await net.startNodeProcess('bob', ['--role', 'host'])
    if ((await net.attached('bob')).user === 'superb') bob = candidate
    else await candidate.stop('SIGTERM', 3000)
  }
  if (bob === undefined) throw new Error('bob did not attach to supernode B in 10 attempts')

  // Contacts: alice asks, bob accepts; both then see each other online.
  await runCliOk(['contacts', 'add', 'bob', '--data-dir', net.dataDir('alice')])
  await bob.waitForEvent(e => e.event === 'contact-request' && e.from === 'alice')
  await runCliOk(['contacts', 'accept', 'alice', '--data-dir', net.dataDir('bob')])
  await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'online')
  await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online')
  const [aliceStatus, bobStatus] = [await net.status('alice'), await net.status('bob')]
  if (aliceStatus.supernode?.user !== 'supera' || bobStatus.supernode?.user !== 'superb') {
    throw new Error(`alice is on ${String(aliceStatus.supernode?.user)}, bob on ${String(bobStatus.supernode?.user)}: not on A and B`)
  }
  return {
    superA,
    superB,
    alice,
    bob,
    bobAttempts,
    aliceStatus: aliceStatus as Pair['aliceStatus'],
    bobStatus: bobStatus as Pair['bobStatus']
  }
}

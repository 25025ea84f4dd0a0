// Faults in the lab: killing a supernode (SIGKILL, as a crash or a pulled plug would) and measuring
// what its hosts and their contacts do about it, and reading the login server from inside the lab.
import { execFileSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { waitUntil } from '../helpers/wait.js'
import { LOGIN, PUBLIC_HOSTS } from './topology.js'
import { reportedPath } from './calls.js'
import { contactsOf, type LabVoxmesh } from './voxmesh-lab.js'

/** The supernode (its user) host `name` is attached to now, from its attached/detached events. */
export function supernodeOf (lab: LabVoxmesh, name: string): string | undefined {
  let current: string | undefined
  for (const e of lab.node(name).events()) {
    if (e.event === 'attached') current = String((e.supernode as { user?: string }).user)
    if (e.event === 'detached') current = undefined
  }
  return current
}

/**
 * The supernode relaying call `callId`, from the candidate pairs `sides` logged when its media
 * connected or moved: the relay end's address is a public host's. A side names its relay in call-connected
 * only when its own relay candidate was chosen; the pair also shows the other side's.
 */
export function relayOfCall (lab: LabVoxmesh, callId: string, sides: string[]): { relay?: string, pairs: string[] } {
  const pairs: string[] = []
  for (const side of sides) {
    // The latest pair: ICE may connect on one and move to a better one (call media moved).
    let latest: string | undefined
    for (const line of lab.node(side).proc.stderrLines) {
      if (!line.includes('call media connected') && !line.includes('call media moved')) continue
      try {
        const entry = JSON.parse(line) as { callId?: unknown, pair?: unknown }
        if (entry.callId === callId && typeof entry.pair === 'string') latest = entry.pair
      } catch {}
    }
    if (latest !== undefined) pairs.push(`${side}: ${latest}`)
  }
  const relayAddresses = pairs.flatMap(p => [...p.matchAll(/relay (\d+\.\d+\.\d+\.\d+):\d+/g)].map(m => m[1]))
  const relay = PUBLIC_HOSTS.find(h => relayAddresses.includes(h.ip))?.name
  return { relay, pairs }
}

export interface Kill {
  victim: string
  /** performance.now() when the signal was sent. */
  at: number
  /** Each node's event count at that moment: what it does about the kill comes after. */
  eventsBefore: Map<string, number>
}

/** SIGKILLs node `victim`; resolves once it is gone. `watch`: the nodes whose later events will be measured. */
export async function killNode (lab: LabVoxmesh, victim: string, watch: string[]): Promise<Kill> {
  const eventsBefore = new Map(watch.map(name => [name, lab.node(name).proc.events.length]))
  const at = performance.now()
  await lab.node(victim).proc.stop('SIGKILL')
  return { victim, at, eventsBefore }
}

/** Kill → host `name` attached to another supernode, ms; undefined when it did not within `timeoutMs`. */
export async function rehomeMs (lab: LabVoxmesh, kill: Kill, name: string, timeoutMs: number): Promise<number | undefined> {
  const elsewhere = (e: Record<string, unknown>): boolean => e.event === 'attached' && (e.supernode as { user?: string }).user !== kill.victim
  const attached = await lab.node(name).proc.waitForEvent(elsewhere, timeoutMs, kill.eventsBefore.get(name) ?? 0).catch(() => undefined)
  return attached === undefined ? undefined : Math.round(attached.at - kill.at)
}

/**
 * Kill → `contact` sees `name` online and a message from `contact` to `name` is delivered (its
 * receipt came back: the overlay found `name` at its new supernode), ms, polled; undefined when
 * not within `timeoutMs`. Includes each poll's CLI start-up (a few hundred ms on the lab's machine).
 */
export async function reachableAgainMs (lab: LabVoxmesh, kill: Kill, contact: string, name: string, timeoutMs: number): Promise<number | undefined> {
  const c = lab.node(contact)
  let attempt = 0
  const done = await waitUntil(`${contact} to reach ${name} again`, async () => {
    const online = (await contactsOf(c).catch(() => [])).some(x => x.username === name && x.status === 'online')
    if (!online) return undefined
    const sent = await c.cli('msg', name, `are you back, ${name}? (${++attempt})`, '--json')
    return sent.code === 0 && (JSON.parse(sent.stdout) as { status: string }).status === 'delivered' ? performance.now() : undefined
  }, timeoutMs, 200).catch(() => undefined)
  return done === undefined ? undefined : Math.round(done - kill.at)
}

/** The statuses `watcher` reported for `name` since the kill (presence events), e.g. ['offline', 'online']. */
export function presenceSince (lab: LabVoxmesh, kill: Kill, watcher: string, name: string): string[] {
  return lab.node(watcher).events().slice(kill.eventsBefore.get(watcher) ?? 0)
    .filter(e => e.event === 'presence' && e.user === name).map(e => String(e.status))
}

/** The paths (call-stats, the end's media summary) `names` reported for call `callId` since the kill, in order. */
export function pathsSince (lab: LabVoxmesh, kill: Kill, names: string[], callId: string | undefined): string[] {
  return names.flatMap(name => lab.node(name).proc.events.slice(kill.eventsBefore.get(name) ?? 0).map(s => s.event)
    .filter(e => e.callId === callId).map(reportedPath)
    .filter((p): p is string => p !== undefined))
}

/** The login server's public key, as GET /v1/info serves it, read from inside the lab (the test runs outside it). */
export function loginServerKey (url: string): string {
  const script = `fetch(${JSON.stringify(`${url}/v1/info`)}).then(r => r.json()).then(i => process.stdout.write(String(i.publicKey)))`
  return execFileSync('ip', ['netns', 'exec', LOGIN.ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 })
}

// voxmesh in the lab: the login server on the public segment and a `voxmesh node --json` on
// every lab host, each run with `ip netns exec` through test/helpers/voxmesh-net.ts.
//
// Every node runs with --role auto, short promotion thresholds and --listen on its own address;
// a host behind a NAT advertises its router's public address (port 7000, which no router forwards),
// as a user who tried to serve from home would. --min-supernodes 10: the supernodes keep asking for
// capacity, so every NAT host does try to promote and logs why it could not. --relay-allow-private:
// the lab's addresses are in 198.18.0.0/15, a special-purpose range the relays refuse by default
// (node/relay/peer-ranges.ts). Every node auto-answers, sends its own tone and records each call;
// --allow-calls-from-anyone so calls need no contact requests (presence scenarios make contacts).
import { join } from 'node:path'
import { inNetns } from '../helpers/processes.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'
import { waitUntil } from '../helpers/wait.js'
import { ALL_HOSTS, host, hostsBehind, LOGIN, NATS, PUBLIC_HOSTS, type LabHost } from './topology.js'

export const OVERLAY_PORT = 7000
const LOGIN_LISTEN = `${LOGIN.ip}:7700`
const SHORT_THRESHOLDS = ['--promote-after', '2s', '--min-free-memory', '0', '--max-load-per-core', '1000', '--min-supernodes', '10']
/** Generous: eleven nodes start at once on two cores. */
const START_TIMEOUT_MS = 60_000

/** Each host's tone: its own frequency, so each side of a call can be told apart. */
export const toneOf = (h: LabHost): number => 300 + 100 * ALL_HOSTS.findIndex(other => other.name === h.name)

type LabNet = Awaited<ReturnType<typeof startVoxmeshNet>>
export interface LabVoxmesh {
  net: LabNet
  /** The running node of the lab host named so. */
  node: (name: string) => NodeProcess
  /**
   * Starts host `name`'s node again on its data dir (killing it first if it still runs); resolves
   * once it is back: a supernode again for a public host, attached for one behind a NAT.
   */
  restart: (name: string) => Promise<NodeProcess>
}

function nodeArgs (net: LabNet, h: LabHost): string[] {
  return [
    '--role', 'auto', '--listen', `${h.ip}:${OVERLAY_PORT}`,
    ...(h.nat === undefined ? [] : ['--advertise', `${h.nat.wanIp}:${OVERLAY_PORT}`]),
    ...SHORT_THRESHOLDS, '--relay-allow-private',
    '--auto-answer', '--allow-calls-from-anyone', '--tone', String(toneOf(h)), '--record-dir', join(net.root, 'recordings', h.name),
    '--no-shell'
  ]
}

/**
 * Starts the login server, then the public hosts one by one (the first finds an empty network and
 * becomes its first supernode, the second is promoted for capacity), then every host behind a NAT
 * at once; resolves once each NAT host is attached to a supernode.
 */
export async function startLabVoxmesh (): Promise<LabVoxmesh> {
  const net = await startVoxmeshNet({ where: inNetns(LOGIN.ns), listen: LOGIN_LISTEN })
  const behindNats = NATS.flatMap(hostsBehind)
  // Each user signs up from their own host (the login server limits new accounts per address).
  await Promise.all([...PUBLIC_HOSTS, ...behindNats].map(async h => { await net.createAccount(h.name, inNetns(h.ns)) }))
  const nodes = new Map<string, NodeProcess>()
  const start = async (h: LabHost): Promise<NodeProcess> => {
    const n = await net.startNode(h.name, nodeArgs(net, h), inNetns(h.ns))
    nodes.set(h.name, n)
    return n
  }
  const startAndWait = async (h: LabHost): Promise<NodeProcess> => {
    const n = await start(h)
    if (h.nat === undefined) await n.waitForEvent(e => e.event === 'role' && e.role === 'supernode', START_TIMEOUT_MS)
    else await n.waitForEvent(e => e.event === 'attached', START_TIMEOUT_MS)
    return n
  }
  for (const h of PUBLIC_HOSTS) await startAndWait(h)
  await Promise.all(behindNats.map(startAndWait))
  const node = (name: string): NodeProcess => {
    const n = nodes.get(name)
    if (n === undefined) throw new Error(`no node on ${name}`)
    return n
  }
  return {
    net,
    node,
    restart: async name => {
      await node(name).proc.stop('SIGKILL')
      return await startAndWait(host(name))
    }
  }
}

const CONTACT_WAIT_MS = 30_000

/** `who`'s contacts, as `contacts --json` prints them. */
export async function contactsOf (who: NodeProcess): Promise<Array<{ username: string, status: string }>> {
  return JSON.parse((await who.cli('contacts', '--json')).stdout) as Array<{ username: string, status: string }>
}

/**
 * `a` sends `b` a text (`msg --json`) and `b` receives it: what went wrong, or undefined when it
 * was delivered and received.
 */
export async function messageGetsThrough (lab: LabVoxmesh, a: string, b: string, text: string, timeoutMs: number): Promise<string | undefined> {
  const sent = await lab.node(a).cli('msg', b, text, '--json')
  const status = sent.code === 0 ? (JSON.parse(sent.stdout) as { status: string }).status : `failed: ${sent.stderr.trim()}`
  const got = await lab.node(b).waitForEvent(e => e.event === 'message' && e.from === a && e.text === text, timeoutMs).then(() => true, () => false)
  return status === 'delivered' && got ? undefined : `${a} → ${b}: ${status}${got ? '' : ', not received'}`
}

/** After a restart: until a message from `a` reaches `b` (b's locator is published again); what went wrong after 20 tries, if anything. */
export async function reachableAgain (lab: LabVoxmesh, a: string, b: string): Promise<string | undefined> {
  let problem: string | undefined = 'not tried'
  for (let i = 0; i < 20 && problem !== undefined; i++) problem = await messageGetsThrough(lab, a, b, `back after a restart (${i})`, 3000)
  return problem
}

/**
 * Makes `a` and `b` contacts (a asks, b accepts; nothing when they are already) and waits until each sees the other online;
 * resolves with what went wrong, if anything (empty when all went well).
 */
export async function befriend (lab: LabVoxmesh, a: string, b: string): Promise<string[]> {
  const [na, nb] = [lab.node(a), lab.node(b)]
  const problems: string[] = []
  const ok = async (result: Promise<{ code: number | null, stderr: string }>, what: string): Promise<void> => {
    const r = await result
    if (r.code !== 0) problems.push(`${what}: ${r.stderr.trim()}`)
  }
  // An earlier test may have made them contacts already (the login server refuses a second request).
  if (!(await contactsOf(na)).some(c => c.username === b)) {
    await ok(na.cli('contacts', 'add', b, `hi from ${a}`), `${a} contacts add ${b}`)
    await nb.waitForEvent(e => e.event === 'contact-request' && e.from === a, CONTACT_WAIT_MS).catch(() => problems.push(`${b} got no contact request`))
    await ok(nb.cli('contacts', 'accept', a), `${b} contacts accept ${a}`)
  }
  const online = async (who: NodeProcess, peer: string): Promise<boolean> => await waitUntil(`${peer} online`, async () => {
    return (await contactsOf(who)).some(c => c.username === peer && c.status === 'online') ? true : undefined
  }, CONTACT_WAIT_MS, 500).catch(() => false)
  const seen = [await online(na, b), await online(nb, a)]
  if (!seen.every(Boolean)) problems.push(`online: ${a} sees ${b} ${String(seen[0])}, ${b} sees ${a} ${String(seen[1])}`)
  return problems
}

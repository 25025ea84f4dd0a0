// The lab's NATs behave as named: a UDP prober behind each router asks two reflectors on the
// public segment what address they saw (mapping: port preserved? one mapping for both?), then a
// third host, and the first reflector from another port, send to that mapping unsolicited
// (filtering: does it come in?). Keeps the lab honest before any voxmesh scenario relies on it.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitUntil } from '../helpers/wait.js'
import { recordRow } from './results.js'
import { createLab, destroyLab, hostsBehind, inNs, labUnavailableReason, LOGIN, NATS, PUBLIC_HOSTS, readSysctl, routerNs, type NatSpec } from './topology.js'

const PROBE = fileURLToPath(new URL('./udp-probe.mjs', import.meta.url))
const REFLECTOR_PORT = 3478
/** How long a prober listens for datagrams that should (or should not) come in. */
const LISTEN_MS = 1000

const unavailable = labUnavailableReason()
if (unavailable !== undefined) console.warn(`network lab SKIPPED: ${unavailable}`)

interface Probe { child: ChildProcess, lines: Array<Record<string, unknown>> }
const probes: Probe[] = []

function probe (ns: string, ...args: string[]): Probe {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const p: Probe = { child, lines: [] }
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => { p.lines.push(JSON.parse(line) as Record<string, unknown>) })
  probes.push(p)
  return p
}
const waitForLine = async (p: Probe, event: string): Promise<Record<string, unknown>> =>
  await waitUntil(() => `a ${event} line from the prober; got ${JSON.stringify(p.lines)}`, () => p.lines.find(l => l.event === event), 10_000, 20)
const ended = async (p: Probe): Promise<void> => {
  if (p.child.exitCode === null) await new Promise(resolve => p.child.once('exit', resolve))
}

const reflectors = PUBLIC_HOSTS.map(h => `${h.ip}:${REFLECTOR_PORT}`)
const [first, second] = reflectors as [string, string]

interface Observed { mapped: Array<string | null>, fromThirdHost: boolean, fromOtherPort: boolean }

/** Probes the NAT in front of `nat`'s first host from local port `port`. */
async function observe (nat: NatSpec, port: number): Promise<Observed> {
  const inside = hostsBehind(nat)[0]
  if (inside === undefined) throw new Error(`${nat.name} has no host`)
  const client = probe(inside.ns, 'client', String(port), first, second)
  const mappings = (await waitForLine(client, 'mapped')).mappings as Record<string, string | null>
  const mapping = mappings[first]
  if (mapping !== null && mapping !== undefined) {
    const third = probe(LOGIN.ns, 'send', '5000', mapping)
    const otherPort = probe(PUBLIC_HOSTS[0]?.ns as string, 'send', String(REFLECTOR_PORT + 1), mapping)
    await Promise.all([ended(third), ended(otherPort)])
    await new Promise(resolve => setTimeout(resolve, LISTEN_MS))
  }
  client.child.stdin?.end()
  const from = client.lines.filter(l => l.event === 'unsolicited').map(l => l.from)
  return {
    mapped: [mappings[first] ?? null, mappings[second] ?? null],
    fromThirdHost: from.includes(`${LOGIN.ip}:5000`),
    fromOtherPort: from.includes(`${PUBLIC_HOSTS[0]?.ip as string}:${REFLECTOR_PORT + 1}`)
  }
}

const portOf = (address: string | null | undefined): number => Number(address?.split(':')[1])

/** The report's words for what a router of `kind` should do, and for what one did. */
function expectedBehaviour (kind: NatSpec['kind']): string {
  if (kind === 'tcp-only') return 'no UDP'
  return `${kind === 'symmetric' ? 'new port per destination' : 'one mapping, port kept'}; unsolicited ${kind === 'cone' ? 'let in' : 'dropped'}`
}
function observedBehaviour (seen: Observed, port: number): string {
  const [one, two] = seen.mapped
  if (one === null && two === null) return 'no UDP'
  const mapping = portOf(one) !== portOf(two) ? 'new port per destination' : portOf(one) === port ? 'one mapping, port kept' : 'one mapping, port changed'
  const filtering = seen.fromThirdHost && seen.fromOtherPort ? 'let in' : !seen.fromThirdHost && !seen.fromOtherPort ? 'dropped' : 'let in from some'
  return `${mapping}; unsolicited ${filtering}`
}

describe.skipIf(unavailable !== undefined)('the lab\'s NAT routers', () => {
  beforeAll(async () => {
    createLab()
    for (const h of PUBLIC_HOSTS) await waitForLine(probe(h.ns, 'reflect', h.ip, String(REFLECTOR_PORT)), 'listening')
  })
  afterAll(() => {
    for (const p of probes) p.child.kill('SIGKILL')
    destroyLab()
  })

  for (const nat of NATS) {
    const port = 40_000 + nat.lan
    it(`${nat.name} (${nat.kind}) maps and filters as a ${nat.kind} NAT`, async () => {
      const seen = await observe(nat, port)
      const [expected, observed] = [expectedBehaviour(nat.kind), observedBehaviour(seen, port)]
      recordRow({ scenario: `NAT self-check: ${nat.name} (${nat.kind})`, expected, observed, pass: observed === expected })
      const [one, two] = seen.mapped
      if (nat.kind === 'tcp-only') {
        expect(seen.mapped, 'no UDP gets through a tcp-only router').toEqual([null, null])
        return
      }
      expect(one, 'the first reflector answered').toMatch(new RegExp(`^${nat.wanIp.replaceAll('.', '\\.')}:\\d+$`))
      expect(two, 'the second reflector answered').toMatch(new RegExp(`^${nat.wanIp.replaceAll('.', '\\.')}:\\d+$`))
      if (nat.kind === 'symmetric') {
        expect(portOf(one), 'a new mapping per destination').not.toBe(portOf(two))
      } else {
        expect([portOf(one), portOf(two)], 'one port-preserving mapping for every destination').toEqual([port, port])
      }
      const open = nat.kind === 'cone'
      expect(seen.fromThirdHost, `unsolicited UDP from a third host ${open ? 'comes in' : 'is dropped'}`).toBe(open)
      expect(seen.fromOtherPort, `UDP from the reflector's address but another port ${open ? 'comes in' : 'is dropped'}`).toBe(open)
    })
  }

  it('the short-timeout NAT gives a two-way UDP stream 30 s to live; another router gives it the kernel default', async () => {
    const short = NATS.find(n => n.udpTimeoutS !== undefined) as NatSpec & { udpTimeoutS: number }
    const other = NATS.find(n => n.kind === 'port-restricted' && n.udpTimeoutS === undefined) as NatSpec
    // A stream: replies both ways for over 2 s, after which conntrack gives a flow the stream timeout.
    const lifetimes = await Promise.all([short, other].map(async nat => {
      const port = 41_000 + nat.lan
      const kept = probe(hostsBehind(nat)[0]?.ns as string, 'keep', String(port), first, '3000')
      expect((await waitForLine(kept, 'kept')).replies, `${nat.name}: the reflector answered`).toBeGreaterThan(5)
      // The kernel's own entry for the mapping, in the router's namespace: its remaining lifetime, seconds.
      const entry = inNs(routerNs(nat), 'cat', '/proc/net/nf_conntrack').split('\n').find(l => l.includes(`sport=${port} dport=${REFLECTOR_PORT}`))
      expect(entry, `${nat.name} has a conntrack entry for the mapping`).toMatch(/\[ASSURED\]/)
      return Number(entry?.trim().split(/\s+/)[4])
    }))
    const [shortLife, otherLife] = lifetimes as [number, number]
    const sysctl = readSysctl(routerNs(short), 'net/netfilter/nf_conntrack_udp_timeout_stream')
    const pass = shortLife <= short.udpTimeoutS && otherLife > short.udpTimeoutS
    recordRow({
      scenario: `NAT self-check: ${short.name} (UDP mappings expire after ${short.udpTimeoutS} s)`,
      expected: `stream mapping lives ≤ ${short.udpTimeoutS} s`,
      observed: `lives ${shortLife} s (sysctl ${sysctl}); ${other.name}: ${otherLife} s`,
      pass
    })
    expect(shortLife).toBeLessThanOrEqual(short.udpTimeoutS)
    expect(otherLife, 'per-namespace: the other router keeps the kernel default').toBeGreaterThan(short.udpTimeoutS)
  })
})

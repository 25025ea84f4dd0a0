// The network lab: a small internet in network namespaces on one machine, addresses only from
// 198.18.0.0/15 (RFC 2544's benchmarking range, routed nowhere).
//
//   vxlab-inet      the "internet": one bridge (br0) joining every WAN interface, 198.18.0.0/16
//   vxlab-login     the login server, 198.18.0.2
//   vxlab-pub1/2    two hosts with public addresses, 198.18.0.11 and .12
//   vxlab-NAME-gw   a NAT router: wan0 on the internet (198.18.(20+N).1: each home in its own /24,
//                   as the login server counts sign-ups per /24), br-lan 198.19.N.1/24
//   vxlab-NAME-hI   host I behind it, 198.19.N.(9+I), default route via the router
//
// Every namespace name starts with LAB_PREFIX, so leftovers of an interrupted run are recognisable,
// and destroyLab() removes every one of them (after killing what still runs inside). Nothing is
// created in the machine's own namespace: deleting the namespaces deletes the veths, the bridge
// and every iptables rule with them. The NAT behaviours are in routers.ts.
import { execFileSync } from 'node:child_process'
import { natRules, type NatKind } from './routers.js'

export const LAB_PREFIX = 'vxlab-'
const INTERNET_NS = `${LAB_PREFIX}inet`
const WAN_PREFIX = 16

export interface NatSpec {
  name: string
  kind: NatKind
  /** The router's public (WAN) address. */
  wanIp: string
  /** Its LAN is 198.19.<lan>.0/24. */
  lan: number
  /** Hosts behind it. */
  hosts: number
  /** The router's conntrack UDP timeouts (both the unreplied and the "stream" one), seconds; kernel defaults when unset. */
  udpTimeoutS?: number
  /** False: no firewall on the router's own WAN input (routers.ts says what that does to early checks); default true. */
  inputFirewall?: boolean
}

/** A machine of the lab: its namespace and its own interface address. */
export interface LabHost {
  name: string
  ns: string
  ip: string
  /** The NAT it sits behind; undefined on the public segment. */
  nat?: NatSpec
}

export const LOGIN: LabHost = { name: 'login', ns: `${LAB_PREFIX}login`, ip: '198.18.0.2' }
export const PUBLIC_HOSTS: LabHost[] = [
  { name: 'pub1', ns: `${LAB_PREFIX}pub1`, ip: '198.18.0.11' },
  { name: 'pub2', ns: `${LAB_PREFIX}pub2`, ip: '198.18.0.12' }
]

export const NATS: NatSpec[] = [
  { name: 'conea', kind: 'cone', wanIp: '198.18.21.1', lan: 1, hosts: 1 },
  { name: 'coneb', kind: 'cone', wanIp: '198.18.22.1', lan: 2, hosts: 1 },
  { name: 'prc', kind: 'port-restricted', wanIp: '198.18.23.1', lan: 3, hosts: 1 },
  { name: 'syma', kind: 'symmetric', wanIp: '198.18.24.1', lan: 4, hosts: 1 },
  { name: 'symb', kind: 'symmetric', wanIp: '198.18.25.1', lan: 5, hosts: 1 },
  { name: 'tcp', kind: 'tcp-only', wanIp: '198.18.26.1', lan: 6, hosts: 1 },
  { name: 'shared', kind: 'port-restricted', wanIp: '198.18.27.1', lan: 7, hosts: 2 },
  { name: 'short', kind: 'port-restricted', wanIp: '198.18.28.1', lan: 8, hosts: 1, udpTimeoutS: 30 },
  { name: 'nofw', kind: 'port-restricted', wanIp: '198.18.29.1', lan: 9, hosts: 1, inputFirewall: false }
]

export const routerNs = (nat: NatSpec): string => `${LAB_PREFIX}${nat.name}-gw`

/** The hosts behind `nat`, named NAME1, NAME2, ... */
export function hostsBehind (nat: NatSpec): LabHost[] {
  return Array.from({ length: nat.hosts }, (_, i) => ({
    name: `${nat.name}${i + 1}`, ns: `${LAB_PREFIX}${nat.name}-h${i + 1}`, ip: `198.19.${nat.lan}.${10 + i}`, nat
  }))
}

/** Every host of the lab that can run a program: the public ones and each one behind a NAT. */
export const ALL_HOSTS: LabHost[] = [LOGIN, ...PUBLIC_HOSTS, ...NATS.flatMap(hostsBehind)]
export const host = (name: string): LabHost => {
  const found = ALL_HOSTS.find(h => h.name === name)
  if (found === undefined) throw new Error(`no lab host ${name}`)
  return found
}

const run = (command: string, args: string[]): string =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
export const inNs = (ns: string, command: string, ...args: string[]): string => run('ip', ['netns', 'exec', ns, command, ...args])
const ipIn = (ns: string, ...args: string[]): string => run('ip', ['-n', ns, ...args])
/**
 * Sets a sysctl of namespace `ns` (KEY like net/ipv4/ip_forward) through /proc/sys, which a process
 * inside the namespace sees as the namespace's own; no procps needed.
 */
const sysctlIn = (ns: string, key: string, value: number): void => { inNs(ns, 'sh', '-c', `echo ${value} > /proc/sys/${key}`) }
/** Reads a sysctl of namespace `ns` (KEY like net/netfilter/nf_conntrack_udp_timeout). */
export const readSysctl = (ns: string, key: string): number => Number(inNs(ns, 'cat', `/proc/sys/${key}`).trim())

/** Why the lab cannot run here (not root, no `ip netns`, no iptables), or undefined when it can. */
export function labUnavailableReason (): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'the lab needs root (ip netns, iptables)'
  try { run('ip', ['netns', 'list']) } catch (err) { return `\`ip netns\` is unavailable: ${(err as Error).message.split('\n')[0] ?? ''} (install iproute2)` }
  try { run('iptables', ['--version']) } catch { return 'iptables is not installed' }
  return undefined
}

/** The lab namespaces that exist now (from this run or an earlier one). */
function labNamespaces (): string[] {
  return run('ip', ['netns', 'list']).split('\n').map(line => line.split(' ')[0] ?? '').filter(name => name.startsWith(LAB_PREFIX))
}

const CLEAN_COMMAND = 'npm run lab -- --clean'

/** Throws, naming them and the command that removes them, when an earlier run left lab namespaces behind. */
export function assertNoLeftovers (): void {
  const left = labNamespaces()
  if (left.length > 0) {
    throw new Error(`an earlier lab run left ${left.length} network namespaces behind: ${left.join(', ')}. ` +
      `Remove them with \`${CLEAN_COMMAND}\` (as root), then run again.`)
  }
}

/** Kills whatever still runs in a lab namespace and deletes every lab namespace; synchronous, so exit handlers can call it. */
export function destroyLab (): void {
  for (const ns of labNamespaces()) {
    let pids: string[] = []
    try { pids = run('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean) } catch {}
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
    try { run('ip', ['netns', 'del', ns]) } catch {}
  }
}

function addNamespace (ns: string): void {
  run('ip', ['netns', 'add', ns])
  ipIn(ns, 'link', 'set', 'lo', 'up')
}

/** A namespace on the internet's bridge with `ip` on its wan0. */
function attachToInternet (ns: string, name: string, ip: string): void {
  const port = `w-${name}`.slice(0, 15)
  run('ip', ['link', 'add', 'wan0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', INTERNET_NS])
  ipIn(INTERNET_NS, 'link', 'set', port, 'master', 'br0', 'up')
  ipIn(ns, 'addr', 'add', `${ip}/${WAN_PREFIX}`, 'dev', 'wan0')
  ipIn(ns, 'link', 'set', 'wan0', 'up')
}

function buildNat (nat: NatSpec): void {
  const gw = routerNs(nat)
  addNamespace(gw)
  attachToInternet(gw, nat.name, nat.wanIp)
  ipIn(gw, 'link', 'add', 'br-lan', 'type', 'bridge')
  ipIn(gw, 'addr', 'add', `198.19.${nat.lan}.1/24`, 'dev', 'br-lan')
  ipIn(gw, 'link', 'set', 'br-lan', 'up')
  sysctlIn(gw, 'net/ipv4/ip_forward', 1)
  const hosts = hostsBehind(nat)
  hosts.forEach((h, i) => {
    addNamespace(h.ns)
    run('ip', ['link', 'add', 'eth0', 'netns', h.ns, 'type', 'veth', 'peer', 'name', `lan${i + 1}`, 'netns', gw])
    ipIn(gw, 'link', 'set', `lan${i + 1}`, 'master', 'br-lan', 'up')
    ipIn(h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0')
    ipIn(h.ns, 'link', 'set', 'eth0', 'up')
    ipIn(h.ns, 'route', 'add', 'default', 'via', `198.19.${nat.lan}.1`)
  })
  for (const rule of natRules(nat.kind, hosts[0]?.ip as string, nat.inputFirewall ?? true)) inNs(gw, 'iptables', '-w', ...rule)
  if (nat.udpTimeoutS !== undefined) {
    // Per-namespace sysctls on this kernel (checked by the NAT self-check): the machine's own stay as they are.
    sysctlIn(gw, 'net/netfilter/nf_conntrack_udp_timeout', nat.udpTimeoutS)
    sysctlIn(gw, 'net/netfilter/nf_conntrack_udp_timeout_stream', nat.udpTimeoutS)
  }
}

let exitHooked = false

/**
 * Builds the whole lab (after checking no earlier run left one behind). Tears it down again when
 * building fails, and on process exit, SIGINT and SIGTERM; call destroyLab() in afterAll too.
 */
export function createLab (): void {
  assertNoLeftovers()
  if (!exitHooked) {
    exitHooked = true
    process.once('exit', destroyLab)
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => { destroyLab(); process.kill(process.pid, signal) })
    }
  }
  try {
    addNamespace(INTERNET_NS)
    ipIn(INTERNET_NS, 'link', 'add', 'br0', 'type', 'bridge')
    ipIn(INTERNET_NS, 'link', 'set', 'br0', 'up')
    for (const h of [LOGIN, ...PUBLIC_HOSTS]) {
      addNamespace(h.ns)
      attachToInternet(h.ns, h.name, h.ip)
    }
    for (const nat of NATS) buildNat(nat)
  } catch (err) {
    destroyLab()
    throw err
  }
}

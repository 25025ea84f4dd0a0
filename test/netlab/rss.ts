// The resident memory of the lab's voxmesh processes, from /proc (Linux, the lab's only platform).
// Each runs as `ip netns exec NS node …`: `ip` enters the namespace and execs node in its place,
// so the PID we spawned is the node process itself. When an `ip` that forks sits in between, the
// node is its one child, found through /proc/PID/task/*/children.
import { readdirSync, readFileSync } from 'node:fs'

const read = (file: string): string | undefined => { try { return readFileSync(file, 'utf8') } catch { return undefined } }

/** The node process behind spawned PID `pid` (itself, or the child of a forking `ip`); undefined once gone. */
export function nodePid (pid: number): number | undefined {
  const comm = read(`/proc/${pid}/comm`)?.trim()
  if (comm === undefined) return undefined
  if (comm !== 'ip') return pid
  const children = readdirSync(`/proc/${pid}/task`).flatMap(task => (read(`/proc/${pid}/task/${task}/children`) ?? '').split(' ').filter(Boolean).map(Number))
  return children.length === 1 ? children[0] : undefined
}

/** VmRSS of process `pid`, KiB; undefined when it has exited. */
export function rssKiB (pid: number): number | undefined {
  const status = read(`/proc/${pid}/status`)
  const match = status === undefined ? null : /^VmRSS:\s+(\d+) kB$/m.exec(status)
  return match === null ? undefined : Number(match[1])
}

export const mib = (kib: number): string => (kib / 1024).toFixed(1)

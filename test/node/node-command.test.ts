// `voxmesh node`'s definition: help in the units people type, and nothing heavy
// loaded to define it (the node itself loads in the action, from run-node.ts).
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { nodeCommand } from '../../node/commands/node.js'

const ROOT = resolve(import.meta.dirname, '../..')

/** Every module a source file loads at its top, following relative imports (type-only imports are erased, so skipped). */
function staticImports (file: string, seen = new Set<string>()): Set<string> {
  const text = readFileSync(file, 'utf8')
  for (const match of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    const specifier = match[1] as string
    if (!specifier.startsWith('.')) { seen.add(specifier); continue }
    const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))
    if (seen.has(target)) continue
    seen.add(target)
    staticImports(target, seen)
  }
  return seen
}

describe('voxmesh node --help', () => {
  it('shows durations as people type them (10m, 45s), not in milliseconds', () => {
    const help = nodeCommand().helpInformation()
    expect(help).toMatch(/--promote-after <duration>[\s\S]*?\(default: 10m\)/)
    expect(help).toMatch(/--ring-timeout <seconds>[\s\S]*?\(default: 45s\)/)
    expect(help).not.toMatch(/600000|45000/)
  })

  it('parses the defaults and typed durations into milliseconds', () => {
    const seen: Array<Record<string, unknown>> = []
    const command = nodeCommand().action((opts: Record<string, unknown>) => { seen.push(opts) })
    command.parse(['--user', 'alice'], { from: 'user' })
    command.parse(['--user', 'alice', '--promote-after', '30s', '--ring-timeout', '2m'], { from: 'user' })
    expect(seen.map(o => [o.promoteAfter, o.ringTimeout])).toEqual([[600_000, 45_000], [30_000, 120_000]])
  })
})

describe('node/commands/node.ts', () => {
  it('loads no heavy module to define the command: the node comes in its action', () => {
    const loaded = staticImports(resolve(ROOT, 'node/commands/node.ts'))
    const packages = [...loaded].filter(m => !m.startsWith('/'))
    expect(packages.sort()).toEqual(['commander', 'node:net'])
    const files = [...loaded].filter(m => m.startsWith('/')).map(f => f.slice(ROOT.length + 1))
    for (const file of files) expect(file).not.toMatch(/run-node|runtime\/node\.ts|control\/(server|app|shell)|login-client|logger\.ts/)
  })
})

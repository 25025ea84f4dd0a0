// What a client command loads: commander and the project's own light files (command definitions,
// the control client, formatting), none of the node it talks to. Every import of a real `voxmesh`
// process is traced by a module hook; a heavy package on the path (TypeBox alone costs ~190 ms,
// fastify, node-datachannel, libsodium, pino, SQLite...) fails the test with the chain of imports
// that brought it in; so does Node's own fetch (undici), which holds a finished command ~90 ms before
// it exits. Not a timing test: `npm run bench:cli` measures the time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { killAll, runCli } from '../helpers/processes.js'
import { writeControlFile } from '../../node/control/control-file.js'
import { closeAll, startFakeNode, TOKEN } from './helpers.js'

/** The only package a client command may load. */
const ALLOWED_PACKAGES = new Set(['commander'])

/**
 * `voxmesh node`'s definition (node/commands/node.ts) loads the whole node until its action imports
 * its body lazily (node/commands/run-node.ts, built in parallel with this test). Until then the walk
 * does not descend into it; once run-node.ts exists the whole graph is checked.
 */
const NODE_COMMAND = 'dist/node/commands/node.js'
const nodeCommandIsLazy = existsSync(resolve(import.meta.dirname, '../../node/commands/run-node.ts'))

/** Resolves every import as usual and appends "importer imported" to $VOXMESH_IMPORT_TRACE. */
const HOOKS = `import { appendFileSync } from 'node:fs'
export async function resolve (specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.VOXMESH_IMPORT_TRACE, (context.parentURL ?? '-') + ' ' + result.url + '\\n')
  return result
}
`

let dir: string
let hooksEnv: Record<string, string>

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-cli-start-'))
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS)
  // Node's built-in modules the process loaded, written at exit to $VOXMESH_IMPORT_TRACE.builtins.
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'
import { writeFileSync } from 'node:fs'
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})
process.on('exit', () => { writeFileSync(process.env.VOXMESH_IMPORT_TRACE + '.builtins', process.moduleLoadList.join('\\n')) })
`)
  hooksEnv = { NODE_OPTIONS: `--import=${pathToFileURL(join(dir, 'register.mjs')).href}` }
})
afterAll(async () => {
  await killAll()
  await closeAll()
  rmSync(dir, { recursive: true, force: true })
})

/** The npm package a module URL belongs to, or undefined for the project's own files and Node's. */
function packageOf (url: string): string | undefined {
  return /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
}

/** Every module the traced run reached (not inside packages), each with the first chain of imports from the entry that led to it. */
function importChains (trace: string): Map<string, string[]> {
  const imports = new Map<string, string[]>()
  let entry: string | undefined
  for (const line of trace.trim().split('\n')) {
    const [from, to] = line.split(' ') as [string, string]
    if (from === '-') entry ??= to
    imports.set(from, [...(imports.get(from) ?? []), to])
  }
  const chains = new Map<string, string[]>()
  if (entry === undefined) return chains
  const queue: string[][] = [[entry]]
  for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) {
    const url = chain[chain.length - 1] as string
    if (chains.has(url)) continue
    chains.set(url, chain)
    // What a package imports is its own business: the package is what the command should not load.
    if (packageOf(url) !== undefined || (!nodeCommandIsLazy && url.endsWith(NODE_COMMAND))) continue
    for (const next of imports.get(url) ?? []) queue.push([...chain, next])
  }
  return chains
}

const short = (url: string): string => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')

/** Runs `voxmesh ARGS` with its imports traced; the chains of imports that reached a package other than commander. */
async function heavyImports (name: string, args: string[], says: { stream: 'stdout' | 'stderr', text: RegExp }): Promise<string[]> {
  const trace = join(dir, `trace-${name}.txt`)
  writeFileSync(trace, '')
  const result = await runCli(args, { ...hooksEnv, VOXMESH_IMPORT_TRACE: trace })
  expect(result[says.stream]).toMatch(says.text)
  const chains = importChains(readFileSync(trace, 'utf8'))
  expect(chains.size).toBeGreaterThan(5)
  const heavy = [...chains].filter(([url]) => { const pkg = packageOf(url); return pkg !== undefined && !ALLOWED_PACKAGES.has(pkg) })
  const undici = readFileSync(`${trace}.builtins`, 'utf8').split('\n').filter(m => m.includes('undici'))
  return [...heavy.map(([, chain]) => chain.map(short).join(' → ')), ...undici]
}

/** A data dir with no node: each client command runs its action up to reading control.json, and stops there. */
const NO_NODE = ['--data-dir', join(tmpdir(), `voxmesh-no-node-${process.pid}`)]
const NOT_RUNNING = /no node is running for data dir/

describe('a client command loads none of the node', () => {
  const cases: Array<[string, string[], 'stdout' | 'stderr', RegExp]> = [
    ['status', ['status', ...NO_NODE], 'stderr', NOT_RUNNING],
    ['contacts', ['contacts', ...NO_NODE], 'stderr', NOT_RUNNING],
    ['msg', ['msg', 'bob', 'hi', ...NO_NODE], 'stderr', NOT_RUNNING],
    ['calls', ['calls', ...NO_NODE], 'stderr', NOT_RUNNING],
    ['call', ['call', 'bob', '--tone', '440', ...NO_NODE], 'stderr', NOT_RUNNING],
    ['--help', ['--help'], 'stdout', /Commands:/]
  ]
  it.each(cases)('voxmesh %s', async (name, args, stream, text) => {
    expect(await heavyImports(name, args, { stream, text })).toEqual([])
  })

  it('nor Node\'s fetch when it talks to a running node', async () => {
    const running = await startFakeNode()
    running.api.addFakeContact('bob', 'online')
    const dataDir = join(dir, 'fake-node')
    writeControlFile(dataDir, { url: running.server.url, token: TOKEN, pid: process.pid })
    expect(await heavyImports('status-running', ['status', '--data-dir', dataDir], { stream: 'stdout', text: /^user/ })).toEqual([])
    // An answer without a body (204) ends the command too.
    expect(await heavyImports('remove-running', ['contacts', 'remove', 'bob', '--data-dir', dataDir], { stream: 'stdout', text: /removed bob|bob/ })).toEqual([])
  })
})

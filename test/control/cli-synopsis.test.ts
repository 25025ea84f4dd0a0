// The README's synopsis (its "Commands" section) against the program's real commands: every command
// and option commander knows is listed, with its arguments, and nothing else is. A new option or
// command without its line in the README fails here.
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { voxmeshProgram } from '../../bin/program.js'

interface Entry { path: string, options: string[], args: string[] }

/** A command's arguments as shapes: `<name>` → "required", `[id]` → "optional", `<text...>` → "required..." */
function commanderArgs (command: Command): string[] {
  return command.registeredArguments.map(a => (a.required ? 'required' : 'optional') + (a.variadic ? '...' : ''))
}

/** Every command that has options of its own or no subcommands (`account` alone is only a group), by path. */
function commanderEntries (program: Command): Entry[] {
  const entries: Entry[] = []
  const walk = (command: Command, path: string[]): void => {
    for (const sub of command.commands) {
      const subPath = [...path, sub.name()]
      if (sub.options.length > 0 || sub.commands.length === 0) {
        entries.push({ path: subPath.join(' '), options: sub.options.map(o => o.long as string).sort(), args: commanderArgs(sub) })
      }
      walk(sub, subPath)
    }
  }
  walk(program, [])
  return entries
}

/**
 * The synopsis: lines starting with `voxmesh ` in the README's "Commands" section's plain code
 * blocks, with their indented continuation lines. The command's path is the longest run of words
 * that names a command; `--flags` are its options; the words left over, once the options and their
 * values are taken out, are its arguments (`NAME`, `[ID]`, `TEXT...`, `online|away|...`).
 */
function readmeEntries (readme: string, program: Command): Entry[] {
  const section = /\n## Commands\n([\s\S]*?)\n## /.exec(readme)?.[1]
  if (section === undefined) throw new Error('the README has no "## Commands" section')
  const texts: string[] = []
  for (const block of section.matchAll(/\n```\n([\s\S]*?)\n```/g)) {
    for (const line of (block[1] as string).split('\n')) {
      if (line.startsWith('voxmesh ')) texts.push(line.slice('voxmesh '.length))
      else if (/^\s+\S/.test(line) && texts.length > 0) texts[texts.length - 1] += ' ' + line.trim()
    }
  }
  return texts.map(text => {
    const words = text.split(/\s+/)
    const path: string[] = []
    for (let command: Command | undefined = program; command !== undefined;) {
      command = command.commands.find(c => c.name() === words[path.length])
      if (command !== undefined) path.push(command.name())
    }
    const rest = words.slice(path.length).join(' ')
      .replace(/\[--[^\]]*\]/g, ' ') // [--flag VALUE], [--a X | --b Y]
      .replace(/--\S+( (?![-[])[A-Z]\S*)?/g, ' ') // a required option and its value
    return {
      path: path.join(' '),
      options: [...new Set(text.match(/--[a-z0-9-]+/g) ?? [])].sort(),
      args: rest.split(/\s+/).filter(Boolean).map(arg => (arg.startsWith('[') ? 'optional' : 'required') + (arg.includes('...') ? '...' : ''))
    }
  })
}

describe('the README synopsis', () => {
  const program = voxmeshProgram()
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8')
  const documented = readmeEntries(readme, program)

  it('lists each command once, and only commands that exist', () => {
    const paths = documented.map(e => e.path)
    expect(paths.filter((p, i) => paths.indexOf(p) !== i), 'listed twice').toEqual([])
    expect(paths.filter(p => p === ''), 'a line that names no command').toEqual([])
    expect([...paths].sort()).toEqual(commanderEntries(program).map(e => e.path).sort())
  })

  it('gives each command exactly its options and arguments', () => {
    const byPath = new Map(documented.map(e => [e.path, e]))
    for (const expected of commanderEntries(program)) {
      expect(byPath.get(expected.path), `voxmesh ${expected.path}`).toEqual(expected)
    }
  })
})

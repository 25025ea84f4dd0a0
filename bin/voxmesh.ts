#!/usr/bin/env node
// The one executable.
import { voxmeshProgram } from './program.js'
import { UserError } from '../common/user-error.js'

try {
  await voxmeshProgram().parseAsync()
} catch (err) {
  // Errors meant for people get one line; anything else is a bug and keeps its stack.
  process.stderr.write(`voxmesh: ${err instanceof UserError ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}

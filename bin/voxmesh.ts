#!/usr/bin/env node
// The one executable: each program contributes its subcommands.
import { Command } from 'commander'
import { loginServerCommand } from '../login-server/cli.js'
import { accountCommand } from '../node/index.js'
import { nodeCommand } from '../node/index.js'
import { clientCommands } from '../node/index.js'
import { callCommands } from '../node/index.js'
import { UserError } from '../common/user-error.js'
import { VOXMESH_VERSION } from '../common/version.js'

const program = new Command('voxmesh')
  .description('peer-to-peer voice: login server, supernodes, hosts and calls')
  .version(VOXMESH_VERSION)
  .showHelpAfterError()
  .addCommand(loginServerCommand())
  .addCommand(accountCommand())
  .addCommand(nodeCommand())
for (const command of [...clientCommands(), ...callCommands()]) program.addCommand(command)

try {
  await program.parseAsync()
} catch (err) {
  // Errors meant for people get one line; anything else is a bug and keeps its stack.
  process.stderr.write(`voxmesh: ${err instanceof UserError ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}

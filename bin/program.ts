// The `voxmesh` program: each program contributes its subcommands (definitions
// only; a command loads what it runs when it runs).
import { Command } from 'commander'
import { loginServerCommand } from '../login-server/cli.js'
import { accountCommand, callCommands, clientCommands, nodeCommand } from '../node/cli.js'
import { VOXMESH_VERSION } from '../common/version.js'

export function voxmeshProgram (): Command {
  const program = new Command('voxmesh')
    .description('peer-to-peer voice: login server, supernodes, hosts and calls')
    .version(VOXMESH_VERSION)
    .showHelpAfterError()
    .addCommand(loginServerCommand())
    .addCommand(accountCommand())
    .addCommand(nodeCommand())
  for (const command of [...clientCommands(), ...callCommands()]) program.addCommand(command)
  return program
}

// The `voxmesh` program: each program contributes its subcommands (definitions
// only; a command loads what it runs when it runs).
import { Command } from 'commander'
import { loginServerCommand } from '../login-server/cli.js'
import { pstnGatewayCommand } from '../pstn-gateway-stub/cli.js'
import { accountCommand, callCommands, clientCommands, nodeCommand } from '../node/cli.js'
import { VOXMESH_VERSION } from '../common/version.js'

export function voxmeshProgram (): Command {
  const program = new Command('voxmesh')
    .description('peer-to-peer voice: login server, supernodes, hosts and calls')
    .version(VOXMESH_VERSION)
    .showHelpAfterError()
    // Options after a command's name are that command's: `login-server credit alice 500
    // --data-dir D` gives --data-dir to credit, not to login-server, which has one of its own.
    .enablePositionalOptions()
    .addCommand(loginServerCommand())
    .addCommand(accountCommand())
    .addCommand(nodeCommand())
    .addCommand(pstnGatewayCommand())
  for (const command of [...clientCommands(), ...callCommands()]) program.addCommand(command)
  return program
}

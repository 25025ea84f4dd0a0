// The node's command line: the definitions of its subcommands, for the CLI entry.
// Only option parsers and texts load with them; each command's action imports the
// code it runs, so `voxmesh status` does not load the node it talks to (fastify,
// node-datachannel, libsodium, TypeBox, Opus...). Keep it that way: the test in
// test/control/cli-start.test.ts lists what a client command must not load.
export { nodeCommand } from './commands/node.js'
export { accountCommand } from './commands/account.js'
export { clientCommands } from './commands/client-commands.js'
export { callCommands } from './commands/call-commands.js'

// Real `voxmesh` processes for tests. The one definition lives in bench/lib/processes.ts, where the
// benchmarks and the demo (compiled programs, which cannot import test/) reach it too. Every process
// started here is killed by killAll() (call it in afterEach/afterAll), so a failing test leaves none behind.
export { killAll, runCli, startCli, VOXMESH_BIN, type CliProcess, type CliResult } from '../../bench/lib/processes.js'

/** The command prefix that runs a CLI inside network namespace `ns` (the network lab; needs root). */
export const inNetns = (ns: string): string[] => ['ip', 'netns', 'exec', ns]

// How every bench script runs: main(), then cleanup() whatever happened (also
// on Ctrl-C and SIGTERM, exiting 130/143), an error printed with the script's
// name and exit code 1.
export async function runBench (name: string, main: () => Promise<void>, cleanup: () => Promise<unknown>): Promise<void> {
  process.once('SIGINT', () => { void cleanup().finally(() => process.exit(130)) })
  process.once('SIGTERM', () => { void cleanup().finally(() => process.exit(143)) })
  try {
    await main()
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  } finally {
    await cleanup()
  }
}

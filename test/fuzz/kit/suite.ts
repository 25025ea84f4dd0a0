// The two tests every fuzzed parser gets: its saved failing inputs replayed, and a run over
// generated inputs (counts from the environment) with the heap not growing along the run.
import { expect, it } from 'vitest'
import { fuzzConfig, fuzzTimeout, heapGrowth, MAX_HEAP_GROWTH_BYTES, replayFixtures, runFuzz, type FuzzReport, type FuzzTarget } from './runner.js'

export interface SuiteOptions {
  /** Inputs of the seeded slice `npm test` runs. */
  slice: number
  /** Generous per-input allowance for the hang timeout (ms). */
  msPerInput?: number
  /** Further assertions on the run's report (e.g. that valid inputs were accepted). */
  after?: (report: FuzzReport) => void
}

export function fuzzSuite<I> (target: FuzzTarget<I>, options: SuiteOptions): void {
  const config = fuzzConfig(options.slice)

  it('replays the saved failing inputs (fixtures) without a crash', async () => {
    await replayFixtures(target)
  })

  it(`handles ${config.inputs} generated inputs: accepted or refused with a reason, heap flat`, async () => {
    const report = await runFuzz(target, config)
    expect(report.accepted + report.rejected).toBe(config.inputs)
    // Structure-aware: a fair share of inputs reaches each side of the parser.
    expect(report.rejected).toBeGreaterThan(config.inputs / 20)
    expectHeapFlat(report)
    options.after?.(report)
  }, fuzzTimeout(config, options.msPerInput))
}

/** The heap after the run is within MAX_HEAP_GROWTH_BYTES of the heap after its first tenth (or why it was not measured). */
export function expectHeapFlat (report: FuzzReport): void {
  const growth = heapGrowth(report)
  if (typeof growth === 'string') console.log(growth)
  else expect(growth, `heap grew by ${growth} bytes along the run`).toBeLessThan(MAX_HEAP_GROWTH_BYTES)
}

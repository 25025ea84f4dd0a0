// The one polling wait for benchmarks, the demo and (through test/helpers/wait.ts)
// the tests: this folder is compiled, test/ is not.

/** What a probe answers while the awaited thing is not there yet. */
type NotYet = undefined | null | false

/**
 * Calls `probe` every `intervalMs` until it answers something other than undefined, null or
 * false, and resolves with that answer. Rejects with "timed out after N ms waiting for <what>"
 * once `timeoutMs` has passed (`what` may be a function, to describe the state at that moment);
 * an error the probe throws ends the wait with that error.
 */
export async function waitUntil<T> (
  what: string | (() => string),
  probe: () => T | NotYet | Promise<T | NotYet>,
  timeoutMs: number,
  intervalMs = 10
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await probe()
    if (answer !== undefined && answer !== null && answer !== false) return answer
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

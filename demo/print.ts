// What the demo prints: timestamped steps, indented details, PASS/FAIL verdicts.
import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'

const t0 = performance.now()

export function step (text: string): void {
  console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${text}`)
}
export const detail = (text: string): void => { console.log(`          ${text}`) }
export const verdict = (ok: boolean): string => ok ? 'PASS' : 'FAIL'
/** A path as the user would type it from where they started the demo. */
export const shown = (path: string): string => relative(process.cwd(), path)

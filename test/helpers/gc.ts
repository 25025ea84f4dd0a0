// V8's full garbage collection, for tests that check what memory is let go (the fuzz runner's
// heap check, the link's handshake). Node starts without --expose-gc; the flag is set at run time
// and `gc` read from a fresh context.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** The gc function, or why there is none. */
export function gcFunction (): (() => void) | string {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch (err) {
    return `gc not available (${(err as Error).message}): heap check skipped`
  }
}

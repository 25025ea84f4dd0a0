// Free ports for tests. The one definition lives in bench/lib/ports.ts, where the
// benchmarks and the demo (compiled programs, which cannot import test/) reach it too.
export { freePort } from '../../bench/lib/ports.js'

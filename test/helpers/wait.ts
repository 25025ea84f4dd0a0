// Waiting for a condition in tests. The one definition lives in bench/lib/wait.ts, where the
// benchmarks and the demo (compiled programs, which cannot import test/) reach it too.
export { waitUntil } from '../../bench/lib/wait.js'

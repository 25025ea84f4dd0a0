// Seeded randomness for tests: the same seed, the same run.
export { seededRandom, seededRandomBytes, type RandomSource } from '../../common/random.js'

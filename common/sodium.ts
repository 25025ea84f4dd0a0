// One place that loads libsodium. The -sumo build is the same library as
// libsodium-wrappers plus argon2id (crypto_pwhash), which the login server needs.
import sodiumModule from 'libsodium-wrappers-sumo'

export type Sodium = typeof sodiumModule

let ready: Promise<Sodium> | undefined

export function loadSodium (): Promise<Sodium> {
  ready ??= sodiumModule.ready.then(() => sodiumModule)
  return ready
}

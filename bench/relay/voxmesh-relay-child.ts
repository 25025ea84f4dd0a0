// The voxmesh relay as bench:relay runs it: a child process with the supernode's TURN server on
// 127.0.0.1, the REST-API secret from the environment, its port printed on stdout. The
// supernode's policy stays on (peer ranges with the lab flag for loopback peers, rate per
// allocation, quotas); only the per-user and per-address allocation caps are raised, since every
// turnutils_uclient client is the one user `bench` at 127.0.0.1.
import { startTurnServer } from '../../node/index.js'
import { REALM, SECRET_ENV } from './constants.js'

async function main (): Promise<void> {
  const secret = process.env[SECRET_ENV]
  if (secret === undefined || secret === '') throw new Error(`${SECRET_ENV} is not set: this child is started by bench/relay/main.js`)
  const server = await startTurnServer({
    listen: '127.0.0.1:0',
    relayHost: '127.0.0.1',
    realm: REALM,
    secret,
    quotas: { maxAllocationsPerUser: 10_000, maxAllocationsPerAddress: 10_000, maxAllocations: 10_000 },
    allowPrivatePeers: true
  })
  process.stdout.write(`${server.port}\n`)
  const stop = (): void => { void server.close().finally(() => process.exit(0)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main().catch(error => {
  process.stderr.write(`voxmesh relay child: ${(error as Error).message}\n`)
  process.exit(1)
})

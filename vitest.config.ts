import { defineConfig } from 'vitest/config'

/**
 * Tests that start processes, open real sockets with real waits, or load native media
 * (node-datachannel, sox, coturn, iptables): the `integration` project. Everything else is
 * `unit` (`npm run test:unit`, under a minute here). `npm test` runs both.
 */
const INTEGRATION = [
  'test/audio/sources-sinks.test.ts',
  'test/audio/wav.test.ts',
  'test/calls/audio-call.test.ts',
  'test/calls/call-surprises.test.ts',
  'test/calls/malformed-sdp.test.ts',
  'test/calls/relay-abuse.test.ts',
  'test/calls/relay-failover.test.ts',
  'test/control/calls-cli.test.ts',
  'test/control/cli-start.test.ts',
  'test/control/cli.test.ts',
  'test/control/control-file.test.ts',
  'test/login-server/cli.test.ts',
  'test/login-server/login-store-postgres.test.ts',
  'test/login-server/instances.test.ts',
  'test/login-server/supernodes.test.ts',
  'test/media/media-session.test.ts',
  'test/media/native-boundary.test.ts',
  'test/media/relay.test.ts',
  'test/media/tcp-only-call.test.ts',
  'test/media/tcp-relay.test.ts',
  'test/media/rtp.test.ts',
  'test/media/sdp-guard.test.ts',
  'test/net/ws-transport.test.ts',
  'test/node/lifecycle.test.ts',
  'test/node/messages.test.ts',
  'test/node/processes.test.ts',
  'test/node/promotion.test.ts',
  'test/pstn-gateway/gateway-billing.test.ts',
  'test/pstn-gateway/gateway-lines.test.ts',
  'test/pstn-gateway/gateway.test.ts',
  'test/security/contact-requests.test.ts',
  'test/security/dialback.test.ts',
  'test/security/files.test.ts',
  'test/security/links.test.ts',
  'test/security/logins.test.ts',
  'test/security/relay.test.ts',
  'test/security/sessions.test.ts',
  'test/turn/coturn-clients.test.ts',
  'test/web/web-client.test.ts',
]

export default defineConfig({
  test: {
    // node-datachannel segfaults under the threads pool (node-datachannel #129, #222).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...INTEGRATION, 'test/netlab/**'] } },
      { extends: true, test: { name: 'integration', include: INTEGRATION, globalSetup: ['test/helpers/build-once.ts'] } },
      // The network lab (`npm run lab`, root only): one lab of namespaces at a time, so one file at a time.
      {
        extends: true,
        test: { name: 'lab', include: ['test/netlab/**/*.test.ts'], globalSetup: ['test/netlab/global-setup.ts'], fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 }
      }
    ]
  }
})

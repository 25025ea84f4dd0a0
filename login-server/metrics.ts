// Prometheus metrics, one registry per app instance (never the global one), so
// several servers in one test process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface LoginMetrics {
  registry: Registry
  requests: Counter<'route' | 'method' | 'status'>
  requestSeconds: Histogram<'route'>
  logins: Counter<'result'>
  /** Logins refused: reason wrong_password | rate_limited | busy; device known | unknown. */
  rejectedLogins: Counter<'reason' | 'device'>
  accountsCreated: Counter
  certificatesIssued: Counter
  rateLimited: Counter<'limiter'>
  liveSupernodes: Gauge
}

export function createMetrics (collectProcess: boolean): LoginMetrics {
  const registry = new Registry()
  if (collectProcess) collectDefaultMetrics({ register: registry, prefix: 'voxmesh_login_' })
  const registers = [registry]
  return {
    registry,
    requests: new Counter({ name: 'voxmesh_login_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers }),
    requestSeconds: new Histogram({ name: 'voxmesh_login_http_request_seconds', help: 'HTTP request duration', labelNames: ['route'], buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    logins: new Counter({ name: 'voxmesh_login_sessions_total', help: 'Login attempts by result', labelNames: ['result'], registers }),
    rejectedLogins: new Counter({ name: 'voxmesh_login_rejected_logins_total', help: 'Logins refused, by reason and whether the device was known', labelNames: ['reason', 'device'], registers }),
    accountsCreated: new Counter({ name: 'voxmesh_login_accounts_created_total', help: 'Accounts created', registers }),
    certificatesIssued: new Counter({ name: 'voxmesh_login_certificates_issued_total', help: 'Device certificates issued', registers }),
    rateLimited: new Counter({ name: 'voxmesh_login_rate_limited_total', help: 'Requests refused with 429', labelNames: ['limiter'], registers }),
    liveSupernodes: new Gauge({ name: 'voxmesh_login_live_supernodes', help: 'Supernodes in the bootstrap list', registers })
  }
}

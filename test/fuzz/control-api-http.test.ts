// Fuzz: a node's control API (node/control), every route but the event stream with bodies and
// queries from its own schemas (node/control/control-api.ts), valid and mutated, through
// inject() against a fake node: a 2xx, or a 4xx with the error shape; never a 5xx or a hang.
import { afterAll, describe } from 'vitest'
import { buildControlApp } from '../../node/control/app.js'
import { AddContactInput, AnswerCallInput, BlockInput, CallIdInput, MuteInput, PlaceCallInput, PresenceInput, SendMessageInput } from '../../node/control/control-api.js'
import { FakeNodeApi } from '../control/fake-node-api.js'
import { TOKEN } from '../control/helpers.js'
import { httpTarget, type Route } from './kit/http.js'
import { fuzzSuite } from './kit/suite.js'

const USERS = ['bob', 'carol', 'Bob', 'alice', 'dave']

// GET /v1/events is a stream that stays open: it is left out (inject would wait for its end).
const ROUTES: Route[] = [
  { method: 'GET', url: '/v1/status' },
  { method: 'GET', url: '/v1/balance' },
  { method: 'GET', url: '/v1/calls/history' },
  { method: 'POST', url: '/v1/messages', body: SendMessageInput },
  { method: 'GET', url: '/v1/messages' },
  { method: 'GET', url: '/v1/contacts' },
  { method: 'POST', url: '/v1/contacts', body: AddContactInput },
  { method: 'POST', url: '/v1/contacts/:username/accept', params: USERS },
  { method: 'POST', url: '/v1/contacts/:username/decline', params: USERS },
  { method: 'DELETE', url: '/v1/contacts/:username', params: USERS },
  { method: 'POST', url: '/v1/blocks', body: BlockInput },
  { method: 'DELETE', url: '/v1/blocks/:username', params: USERS },
  { method: 'GET', url: '/v1/requests' },
  { method: 'PUT', url: '/v1/presence', body: PresenceInput },
  { method: 'GET', url: '/v1/calls' },
  { method: 'POST', url: '/v1/calls', body: PlaceCallInput },
  { method: 'POST', url: '/v1/calls/answer', body: AnswerCallInput },
  { method: 'POST', url: '/v1/calls/decline', body: CallIdInput },
  { method: 'POST', url: '/v1/calls/hangup', body: CallIdInput },
  { method: 'POST', url: '/v1/calls/mute', body: MuteInput }
]

describe('fuzz: the control API', () => {
  const api = new FakeNodeApi()
  const app = buildControlApp(api, TOKEN)
  afterAll(async () => { await app.close(); await api.close() })

  fuzzSuite(httpTarget('control-api-http', ROUTES, () => TOKEN, async options => await app.inject(options)), { slice: 800, msPerInput: 20 })
})

// An overlay host: attaches to the best supernode it knows (parallel attempts;
// the first to register wins), keeps the link alive, re-homes when its supernode
// dies, and carries this user's presence, messages and contact notices.
// Sans-IO: the network comes in through Transport, time through Clock, chance
// (republish jitter, reconnect backoff) through a RandomSource.
// The pieces live in host/: attach.ts (attach, re-home), records.ts (what we
// publish and republish), keepalive.ts, presence.ts, requests.ts (what we ask of
// our supernode), supernode-messages.ts and deliveries.ts (what it sends us).
import { randomBytes } from 'node:crypto'
import { attach } from './host/attach.js'
import { checkSupernode } from './host/keepalive.js'
import { expirePresence, queryPresence } from './host/presence.js'
import { pushPresence, sendCapabilities } from './host/records.js'
import { checkReachable, releaseTurn, route, sendText, turnCredentials } from './host/requests.js'
import { createHostState } from './host/state.js'
import { SUPERNODE_CHECK_TIMEOUT_MS } from './constants.js'
import type { Host, HostComponents, HostInit } from './host/types.js'

export type { Host, HostComponents, HostEvent, HostInit, SendResult, TurnServerCredentials, UserStatus } from './host/types.js'

export const newMessageId = (): string => randomBytes(12).toString('base64url')

export function createHost (components: HostComponents, init: HostInit): Host {
  const { clock } = components
  const state = createHostState(components, init)
  return {
    get supernode () { return state.supernode },
    get status () { return state.status },
    start () {
      expirePresence(components, state)
      void attach(components, state)
    },
    setStatus (next) {
      state.status = next
      pushPresence(components, state)
    },
    setAudience (users, next) {
      state.audience = [...new Set(users)]
      if (next !== undefined) {
        state.capabilities = next
        // Before the presence: it is pushed with these.
        if (state.link !== undefined) sendCapabilities(state, state.link)
      }
      pushPresence(components, state)
    },
    send: async (to, body) => await route(components, state, to, body),
    sendText: async (to, text, id = newMessageId(), writtenAt) => await sendText(components, state, to, text, id, writtenAt),
    queryPresence: users => { queryPresence(components, state, users) },
    presenceOf: user => state.presence.status(user, clock.now()),
    checkReachable: async address => await checkReachable(state, address),
    turnCredentials: async () => await turnCredentials(state),
    releaseTurn: relayed => { releaseTurn(state, relayed) },
    checkSupernode: async (timeoutMs = SUPERNODE_CHECK_TIMEOUT_MS) => await checkSupernode(components, state, timeoutMs),
    rehome (reason) {
      const current = state.link
      if (current === undefined) { void attach(components, state); return }
      state.rehoming = true
      current.close(reason)
    },
    close () {
      if (state.closed) return
      state.closed = true
      const { retry, ping, beat, republish, expiry } = state.timers
      for (const timer of [retry, ping, beat, republish, expiry]) if (timer !== undefined) clock.clearTimeout(timer)
      state.link?.close('host shutting down')
    }
  }
}

// A node from the moment `voxmesh node` starts: its NodeApi answers at once, so
// the control API can come up before login (and `voxmesh status` says what the
// node waits for: the login server, say). Until the node is up, everything but
// status, events, sign-in and close is refused with that same sentence; then everything
// goes to the running node. Started without a password, the node waits for one through
// `signIn` (the web client's sign-in page), and tries each given until one logs in.
import { EventEmitter } from 'node:events'
import { UserError } from '../../common/user-error.js'
import { createNode } from './node.js'
import { describeLoginServerWait, type LoginServerWait } from './login-session.js'
import { startingStatus } from './status.js'
import type { NodeOptions, RunningNode } from './node-options.js'
import type { NodeApi } from './api.js'

export interface StartingNode {
  /** Answers from the start; once `start()` (or `signedIn()`) resolved, it is the running node's. */
  api: NodeApi
  /** Starts the node (once); rejects if it cannot start, or if `api.close()` stopped it first (which then closes it). */
  start: (hooks?: StartHooks) => Promise<RunningNode>
  /** Without a password in the options: the node once `api.signIn` got one that logs in (each refused one may be followed by another). */
  signedIn: (hooks?: StartHooks) => Promise<RunningNode>
}

export interface StartHooks { onLoginWait?: (wait: LoginServerWait) => void }

/** What `voxmesh status` and the page say while the node waits for its user's password. */
export const WAITING_FOR_SIGN_IN = 'waiting for you to sign in (run `voxmesh open` for the web client\'s link)'

export function startingNode (options: NodeOptions): StartingNode {
  const startedAt = Date.now()
  const events = new EventEmitter()
  const abort = new AbortController()
  const needsSignIn = options.password === undefined && options.serviceToken === undefined
  let describeState = (): string => needsSignIn ? WAITING_FOR_SIGN_IN : 'starting'
  let signInHooks: StartHooks | undefined
  let onSignedIn: ((node: RunningNode) => void) | undefined
  let onStopped: ((err: Error) => void) | undefined
  const signedIn = new Promise<RunningNode>((resolve, reject) => { onSignedIn = resolve; onStopped = reject })
  // Nobody waits for it when the node was started with its password.
  signedIn.catch(() => {})
  let opened = { deviceKey: '', listen: null as string | null }
  let node: RunningNode | undefined
  let starting: Promise<RunningNode> | undefined
  let closing: Promise<void> | undefined

  const up = (): RunningNode => {
    if (node === undefined) throw new UserError(`the node is not up yet: ${describeState()}`, 'starting')
    return node
  }
  const api: NodeApi = {
    status: () => node?.status() ?? startingStatus({
      user: options.user, state: describeState(), waitingForSignIn: needsSignIn && starting === undefined, deviceKey: opened.deviceKey, uptimeMs: Date.now() - startedAt,
      loginServer: options.loginServer, listen: opened.listen, advertise: options.advertise ?? options.listen ?? null
    }),
    balance: async () => await up().balance(),
    callHistory: async limit => await up().callHistory(limit),
    contacts: async () => await up().contacts(),
    requests: async () => await up().requests(),
    addContact: async (username, message) => await up().addContact(username, message),
    acceptContact: async username => { await up().acceptContact(username) },
    declineContact: async username => { await up().declineContact(username) },
    removeContact: async username => { await up().removeContact(username) },
    block: async username => { await up().block(username) },
    unblock: async username => { await up().unblock(username) },
    setPresence: status => { up().setPresence(status) },
    setRole: async mode => await up().setRole(mode),
    async signIn (password) {
      if (node !== undefined) throw new UserError('already signed in', 'signed_in')
      if (!needsSignIn) throw new UserError('this node was started with its password: there is nothing to sign in to', 'signed_in')
      if (closing !== undefined) throw new UserError('the node is stopping', 'stopped')
      if (starting !== undefined) throw new UserError('signing in already: wait for that to finish', 'busy')
      let onWait: (wait: LoginServerWait) => void = () => {}
      const firstWait = new Promise<LoginServerWait>(resolve => { onWait = resolve })
      const attempt = start({ password, onLoginWait: wait => { signInHooks?.onLoginWait?.(wait); onWait(wait) } })
      // A refused password leaves the node waiting for the next try.
      attempt.then(up => { onSignedIn?.(up) }, () => { starting = undefined; describeState = () => WAITING_FOR_SIGN_IN })
      // The answer: signed in, refused, or (the login server not answering) that the node keeps trying by itself.
      const wait = await Promise.race([attempt.then(() => undefined), firstWait])
      if (wait !== undefined) throw new UserError(`the login server at ${wait.url} is not answering; the node signs in as soon as it does`, 'login_server_wait')
    },
    sendMessage: async (to, text) => await up().sendMessage(to, text),
    messages: (peer, limit) => up().messages(peer, limit),
    placeCall: async (to, callOptions) => await up().placeCall(to, callOptions),
    answerCall: async (callId, audio) => await up().answerCall(callId, audio),
    declineCall: (callId, reason) => { up().declineCall(callId, reason) },
    hangup: (callId, reason) => { up().hangup(callId, reason) },
    setMuted: (muted, callId) => { up().setMuted(muted, callId) },
    browserMediaReply: (callId, reply) => { up().browserMediaReply(callId, reply) },
    calls: () => node?.calls() ?? [],
    subscribe: listener => {
      events.on('event', listener)
      return () => { events.off('event', listener) }
    },
    close: () => (closing ??= (async () => {
      abort.abort()
      onStopped?.(new UserError('the node was stopped while it waited for its user to sign in', 'stopped'))
      // A start past its last wait still finishes: close what it started.
      await starting?.catch(() => {})
      await node?.close()
      events.removeAllListeners()
    })())
  }

  const start = (hooks?: StartHooks & { password?: string }): Promise<RunningNode> => (starting ??= (async () => {
    const started = await createNode(hooks?.password === undefined ? options : { ...options, password: hooks.password }, {
      signal: abort.signal,
      onOpened: given => {
        opened = given
        describeState = () => `logging in to the login server at ${options.loginServer}`
      },
      onLoginWait: wait => {
        const retryAt = Date.now() + wait.retryInMs
        // Read when asked, so "retrying in N s" counts down.
        describeState = () => describeLoginServerWait({ ...wait, retryInMs: Math.max(0, retryAt - Date.now()) })
        hooks?.onLoginWait?.(wait)
      }
    })
    node = started
    if (closing !== undefined) throw new UserError('the node was stopped while it started', 'stopped')
    started.subscribe(event => { events.emit('event', event) })
    return started
  })())
  return { api, start, signedIn: hooks => { signInHooks = hooks; return signedIn } }
}

// An in-memory NodeApi for the control API, client and shell tests: a contacts
// map, request lists, scripted message results, scripted calls, and events the test pushes.
import { UserError } from '../../common/user-error.js'
import { END_MESSAGES } from '../../node/calls/constants.js'
import type { EndReason } from '../../node/calls/call-bodies.js'
import type {
  BrowserMediaReply, RoleMode, AcceptedRequestView, CallAudioOptions, CallInfo, CallOptions, CallStats, ContactRequestView, ContactRequestsView, ContactView, MessageView, NodeApi, NodeEvent, NodeStatus, SendMessageResult
} from '../../node/runtime/api.js'
import type { PresenceStatus, UserStatus } from '../../common/presence.js'

export class FakeNodeApi implements NodeApi {
  readonly contactMap = new Map<string, ContactView>()
  readonly blocked = new Set<string>()
  incoming: ContactRequestView[] = []
  outgoing: ContactRequestView[] = []
  accepted: AcceptedRequestView[] = []
  presence: UserStatus = 'online'
  readonly sent: Array<{ to: string, text: string }> = []
  /** What sendMessage answers for each recipient; default 'delivered'. */
  readonly messageResults = new Map<string, SendMessageResult>()
  /** What messages() answers from, oldest first. */
  readonly history: MessageView[] = []
  /** Every api call, e.g. "acceptContact bob", in order. */
  readonly invocations: string[] = []
  /**
   * What happens to a call placed to each peer (default 'connect'): it always rings
   * first (synchronously, before placeCall resolves, as a fast node may), then
   * after `callDelayMs` connects or ends for the reason given. 'unreachable' ends
   * it before placeCall resolves, without ringing.
   */
  readonly callOutcomes = new Map<string, 'connect' | 'ring' | EndReason>()
  callDelayMs = 20
  /** While set, every connected call gets a call-stats event this often. */
  statsEveryMs: number | undefined
  /** The options each placed or answered call was given, by call id. */
  readonly callOptions = new Map<string, CallOptions | CallAudioOptions | undefined>()
  readonly relay = 'super1@127.0.0.1:7701'
  private readonly callMap = new Map<string, CallInfo>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private nextCallId = 1
  /** Thrown by the next api call, once. */
  failNext: Error | undefined
  closed = false
  private readonly listeners = new Set<(event: NodeEvent) => void>()
  private nextRequestId = 1

  constructor (readonly user = 'alice', private readonly overrides: Partial<NodeStatus> = {}) {}

  get listenerCount (): number { return this.listeners.size }

  /** Delivers an event to every subscriber, as the node would. */
  emit (event: NodeEvent): void {
    for (const listener of [...this.listeners]) listener(event)
  }

  addFakeContact (username: string, status: PresenceStatus, since = 1_700_000_000, statusSince: number | null = null): void {
    this.contactMap.set(username, { username, status, since, statusSince, statusSinceExact: statusSince !== null })
  }

  addIncomingRequest (from: string, message = ''): void {
    this.incoming.push({ id: this.nextRequestId++, from, to: this.user, message, createdAt: 1_700_000_000 })
  }

  async balance (): Promise<{ balance: number, currency: string }> {
    this.record('balance')
    return { balance: 1234, currency: 'EUR' }
  }

  async callHistory (limit?: number): Promise<{ currency: string, calls: [] }> {
    this.record(`callHistory ${String(limit)}`)
    return { currency: 'EUR', calls: [] }
  }

  status (): NodeStatus {
    this.record('status')
    return {
      user: this.user,
      role: 'host',
      supernode: { user: 'sn1', address: '127.0.0.1:7801', deviceKey: 'D'.repeat(43) },
      presence: this.presence,
      peers: 0,
      hosts: 0,
      uptimeSeconds: 3723,
      loginServer: 'http://127.0.0.1:7700',
      listen: null,
      advertise: null,
      deviceKey: 'K'.repeat(43),
      relay: null,
      ...this.overrides
    }
  }

  async contacts (): Promise<ContactView[]> {
    this.record('contacts')
    return [...this.contactMap.values()]
  }

  async requests (): Promise<ContactRequestsView> {
    this.record('requests')
    return { incoming: [...this.incoming], outgoing: [...this.outgoing], accepted: [...this.accepted] }
  }

  async addContact (username: string, message?: string): Promise<{ status: 'pending' | 'accepted' }> {
    this.record(`addContact ${username}${message === undefined ? '' : ` ${message}`}`)
    if (username === this.user) throw new UserError('you cannot add yourself as a contact')
    if (this.incoming.some(r => r.from === username)) {
      await this.acceptContact(username)
      return { status: 'accepted' }
    }
    this.outgoing.push({ id: this.nextRequestId++, from: this.user, to: username, message: message ?? '', createdAt: 1_700_000_000 })
    return { status: 'pending' }
  }

  async acceptContact (username: string): Promise<void> {
    this.record(`acceptContact ${username}`)
    const index = this.incoming.findIndex(r => r.from === username)
    if (index === -1) throw new UserError(`no contact request from ${username}`)
    this.incoming.splice(index, 1)
    this.addFakeContact(username, 'offline')
  }

  async declineContact (username: string): Promise<void> {
    this.record(`declineContact ${username}`)
    const index = this.incoming.findIndex(r => r.from === username)
    if (index === -1) throw new UserError(`no contact request from ${username}`)
    this.incoming.splice(index, 1)
  }

  async removeContact (username: string): Promise<void> {
    this.record(`removeContact ${username}`)
    if (!this.contactMap.delete(username)) throw new UserError(`${username} is not your contact`)
  }

  async block (username: string): Promise<void> {
    this.record(`block ${username}`)
    this.blocked.add(username)
  }

  async unblock (username: string): Promise<void> {
    this.record(`unblock ${username}`)
    if (!this.blocked.delete(username)) throw new UserError(`${username} is not blocked`)
  }

  async signIn (password: string): Promise<void> {
    this.record(`signIn ${password.length} characters`)
  }

  async setRole (mode: RoleMode): Promise<{ role: 'host' | 'supernode', mode: RoleMode }> {
    this.record(`setRole ${mode}`)
    return { role: mode === 'supernode' ? 'supernode' : 'host', mode }
  }

  setPresence (status: UserStatus): void {
    this.record(`setPresence ${status}`)
    this.presence = status
  }

  async sendMessage (to: string, text: string): Promise<SendMessageResult> {
    this.record(`sendMessage ${to}`)
    this.sent.push({ to, text })
    return this.messageResults.get(to) ?? { status: 'delivered', id: `m${this.sent.length}`, receiptMs: 12 }
  }

  messages (peer?: string, limit = 50): MessageView[] {
    this.record(`messages ${peer ?? '*'} ${limit}`)
    if (peer !== undefined) return this.history.filter(m => m.peer === peer).slice(-limit)
    const newestFirst = [...this.history].reverse()
    return newestFirst.filter((m, i) => newestFirst.findIndex(other => other.peer === m.peer) === i)
  }

  async placeCall (to: string, options?: CallOptions): Promise<{ callId: string }> {
    this.record(`placeCall ${to}`)
    if (to === this.user) throw new UserError('you cannot call yourself', 'self_call')
    const call = this.newCall('outgoing', to)
    this.callOptions.set(call.callId, options)
    const outcome = this.callOutcomes.get(to) ?? 'connect'
    if (outcome === 'unreachable') {
      this.endCall(call, 'unreachable')
      return { callId: call.callId }
    }
    call.state = 'ringing'
    this.emit({ event: 'call-ringing', callId: call.callId, peer: to })
    this.later(() => {
      if (call.state !== 'ringing' || outcome === 'ring') return
      if (outcome === 'connect') this.connect(call, options?.relayOnly === true ? 'relay' : 'direct')
      else this.endCall(call, outcome)
    }, this.callDelayMs)
    return { callId: call.callId }
  }

  async answerCall (callId?: string, options?: CallAudioOptions): Promise<{ callId: string }> {
    this.record(`answerCall${callId === undefined ? '' : ` ${callId}`}`)
    const call = this.pick(callId, c => c.direction === 'incoming' && c.state === 'ringing')
    this.callOptions.set(call.callId, options)
    call.state = 'connecting'
    this.later(() => { if (call.state === 'connecting') this.connect(call, 'direct') }, this.callDelayMs)
    return { callId: call.callId }
  }

  declineCall (callId?: string): void {
    this.record(`declineCall${callId === undefined ? '' : ` ${callId}`}`)
    this.endCall(this.pick(callId, c => c.direction === 'incoming' && c.state === 'ringing'), 'declined')
  }

  hangup (callId?: string): void {
    this.record(`hangup${callId === undefined ? '' : ` ${callId}`}`)
    const call = this.pick(callId, c => c.state !== 'ended')
    this.endCall(call, call.state === 'connected' ? 'hangup' : call.direction === 'outgoing' ? 'cancelled' : 'declined')
  }

  setMuted (muted: boolean, callId?: string): void {
    this.record(`setMuted ${String(muted)}${callId === undefined ? '' : ` ${callId}`}`)
    this.pick(callId, c => c.state !== 'ended').muted = muted
  }

  browserMediaReply (callId: string, reply: BrowserMediaReply): void {
    this.record(`browserMediaReply ${callId} ${reply.step}`)
  }

  calls (): CallInfo[] {
    this.record('calls')
    return [...this.callMap.values()].map(call => ({ ...call }))
  }

  /** The fake's own view of a call, for assertions (no invocation recorded). */
  call (callId: string): CallInfo | undefined { return this.callMap.get(callId) }

  /** Someone calls us: the call rings here and call-incoming goes out. */
  addIncomingCall (from: string): string {
    const call = this.newCall('incoming', from)
    call.state = 'ringing'
    this.emit({ event: 'call-incoming', callId: call.callId, from })
    return call.callId
  }

  /** A call-stats event for a call (what the node sends every second while connected). */
  emitStats (callId: string, stats: Partial<CallStats> = {}): void {
    const call = this.callMap.get(callId)
    const full: CallStats = {
      path: 'direct', rttMs: 42, jitterMs: 3.1, lossPct: 0.5, bitrateKbps: 24, mos: 4.38, packetsSent: 50, packetsReceived: 49, ...stats
    }
    if (call !== undefined) call.stats = full
    this.emit({ event: 'call-stats', callId, ...full })
  }

  /** Ends a call from the other side (or the network). */
  endCall (call: CallInfo, reason: EndReason): void {
    if (call.state === 'ended') return
    const durationMs = call.connectedAt === undefined ? 0 : Date.now() - call.connectedAt
    call.state = 'ended'
    this.emit({ event: 'call-ended', callId: call.callId, peer: call.peer, reason, message: END_MESSAGES[reason](call.peer), durationMs })
  }

  subscribe (listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  async close (): Promise<void> {
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  private newCall (direction: CallInfo['direction'], peer: string): CallInfo {
    // Ids like the node's: 16 base64url characters, here with a distinct first 8.
    const callId = `${String(this.nextCallId++).padStart(4, '0')}Call${'x'.repeat(8)}`
    const call: CallInfo = { callId, direction, peer, state: 'inviting', startedAt: Date.now(), muted: false }
    this.callMap.set(callId, call)
    return call
  }

  private connect (call: CallInfo, path: 'direct' | 'relay'): void {
    call.state = 'connected'
    call.connectedAt = Date.now()
    this.emit({
      event: 'call-connected', callId: call.callId, peer: call.peer, path, setupMs: 85, ...(path === 'relay' ? { relay: this.relay } : {})
    })
    const every = this.statsEveryMs
    if (every === undefined) return
    const timer = setInterval(() => {
      if (call.state !== 'connected') { clearInterval(timer); this.timers.delete(timer); return }
      this.emitStats(call.callId, { path })
    }, every)
    this.timers.add(timer)
  }

  /** The call `callId` names (a prefix will do), or the first that fits; like the node, a UserError when none. */
  private pick (callId: string | undefined, fits: (call: CallInfo) => boolean): CallInfo {
    const candidates = [...this.callMap.values()].filter(fits)
    const call = callId === undefined ? candidates[0] : candidates.find(c => c.callId.startsWith(callId))
    if (call === undefined) throw new UserError(callId === undefined ? 'no call to act on' : `no such call: ${callId}`)
    return call
  }

  private later (run: () => void, ms: number): void {
    const timer = setTimeout(() => { this.timers.delete(timer); run() }, ms)
    this.timers.add(timer)
  }

  private record (call: string): void {
    this.invocations.push(call)
    const failure = this.failNext
    if (failure !== undefined) {
      this.failNext = undefined
      throw failure
    }
  }
}

// An in-memory NodeApi for the control API, client and shell tests: a contacts
// map, request lists, scripted message results, and events the test pushes.
import { UserError } from '../../common/user-error.js'
import type { ContactRequestView, ContactView, NodeApi, NodeEvent, NodeStatus, SendMessageResult } from '../../node/runtime/api.js'
import type { PresenceStatus } from '../../node/overlay/messages.js'
import type { UserStatus } from '../../node/overlay/host.js'

export class FakeNodeApi implements NodeApi {
  readonly contactMap = new Map<string, ContactView>()
  readonly blocked = new Set<string>()
  incoming: ContactRequestView[] = []
  outgoing: ContactRequestView[] = []
  presence: UserStatus = 'online'
  readonly sent: Array<{ to: string, text: string }> = []
  /** What sendMessage answers for each recipient; default 'delivered'. */
  readonly messageResults = new Map<string, SendMessageResult>()
  /** Every call, e.g. "acceptContact bob", in order. */
  readonly calls: string[] = []
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

  addFakeContact (username: string, status: PresenceStatus, since = 1_700_000_000): void {
    this.contactMap.set(username, { username, status, since })
  }

  addIncomingRequest (from: string, message = ''): void {
    this.incoming.push({ id: this.nextRequestId++, from, to: this.user, message, createdAt: 1_700_000_000 })
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
      ...this.overrides
    }
  }

  async contacts (): Promise<ContactView[]> {
    this.record('contacts')
    return [...this.contactMap.values()]
  }

  async requests (): Promise<{ incoming: ContactRequestView[], outgoing: ContactRequestView[] }> {
    this.record('requests')
    return { incoming: [...this.incoming], outgoing: [...this.outgoing] }
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

  setPresence (status: UserStatus): void {
    this.record(`setPresence ${status}`)
    this.presence = status
  }

  async sendMessage (to: string, text: string): Promise<SendMessageResult> {
    this.record(`sendMessage ${to}`)
    this.sent.push({ to, text })
    return this.messageResults.get(to) ?? { status: 'delivered', id: `m${this.sent.length}`, receiptMs: 12 }
  }

  subscribe (listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  async close (): Promise<void> {
    this.closed = true
  }

  private record (call: string): void {
    this.calls.push(call)
    const failure = this.failNext
    if (failure !== undefined) {
      this.failNext = undefined
      throw failure
    }
  }
}

// The node's conversation history and outbox, in messages.sqlite in its data
// dir (0600): every text sent and received, with its delivery state. An
// outgoing text is 'queued' until it reaches a device of its recipient, 'sent'
// then, 'delivered' once the recipient's receipt came. Each write is one
// transaction, and each conversation keeps at most MAX_MESSAGES_PER_PEER rows
// (the oldest go first, except queued ones: those are never dropped, and at
// most MAX_QUEUED_PER_PEER of them wait at once).
import { openPrivateDatabase } from '../../common/sqlite-file.js'
import type { MessageState, MessageView } from './api.js'

/** Rows kept per conversation (sent and received together). */
export const MAX_MESSAGES_PER_PEER = 1000
/** Queued texts (not yet on any device) to one recipient at once. */
export const MAX_QUEUED_PER_PEER = 100

const MIGRATIONS: readonly string[] = [
  /* 1: messages */ `
  CREATE TABLE messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL,
    peer         TEXT NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    text         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'received')),
    written_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    delivered_at INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (direction, peer, id)
  ) STRICT;
  CREATE INDEX messages_by_peer ON messages(peer, seq);
  CREATE INDEX messages_undelivered ON messages(peer, state) WHERE direction = 'out' AND state != 'delivered';
  `
]

interface Row {
  id: string, peer: string, direction: 'out' | 'in', text: string, state: MessageState,
  written_at: number, sent_at: number | null, delivered_at: number | null, attempts: number
}

export interface OutgoingMessage { id: string, peer: string, text: string, state: MessageState, writtenAt: number, attempts: number }

export interface MessageStore {
  /** Records a text to `peer` as queued. */
  addOutgoing: (message: { id: string, peer: string, text: string, writtenAt: number }) => void
  /** Undelivered texts to `peer`, oldest first. */
  undelivered: (peer: string) => OutgoingMessage[]
  queuedCount: (peer: string) => number
  /** Peers with undelivered texts. */
  peersWithUndelivered: () => string[]
  /** The text reached a device of its recipient: 'sent' (unless delivered already), one more attempt. */
  markSent: (peer: string, id: string, at: number) => void
  /** A receipt came: the text's writtenAt when this is the first receipt of one of our texts to `peer`, else undefined. */
  markDelivered: (peer: string, id: string, at: number) => number | undefined
  /** A received text; false when this id from `peer` was stored already (a resend). */
  addIncoming: (message: { id: string, peer: string, text: string, writtenAt: number, sentAt: number, receivedAt: number }) => boolean
  /** One conversation's last `limit` messages, oldest first. */
  conversation: (peer: string, limit: number) => MessageView[]
  /** The last message of each conversation, the newest conversation first. */
  lastOfEach: (limit: number) => MessageView[]
  close: () => void
}

export function openMessageStore (file: string): MessageStore {
  const db = openPrivateDatabase(file, { migrations: MIGRATIONS, what: 'message database' })

  const insertOut = db.prepare(`INSERT INTO messages (id, peer, direction, text, state, written_at)
    VALUES (@id, @peer, 'out', @text, 'queued', @writtenAt)`)
  const insertIn = db.prepare(`INSERT OR IGNORE INTO messages (id, peer, direction, text, state, written_at, sent_at, delivered_at)
    VALUES (@id, @peer, 'in', @text, 'received', @writtenAt, @sentAt, @receivedAt)`)
  const undelivered = db.prepare<[string], Row>(`SELECT * FROM messages
    WHERE peer = ? AND direction = 'out' AND state != 'delivered' ORDER BY seq`)
  const queuedCount = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM messages
    WHERE peer = ? AND direction = 'out' AND state = 'queued'`)
  const peersWithUndelivered = db.prepare<[], { peer: string }>(`SELECT DISTINCT peer FROM messages
    WHERE direction = 'out' AND state != 'delivered'`)
  const markSent = db.prepare(`UPDATE messages SET attempts = attempts + 1, sent_at = coalesce(sent_at, @at),
    state = CASE state WHEN 'queued' THEN 'sent' ELSE state END WHERE direction = 'out' AND peer = @peer AND id = @id`)
  const markDelivered = db.prepare<[{ peer: string, id: string, at: number }], { written_at: number }>(`UPDATE messages
    SET state = 'delivered', delivered_at = @at, sent_at = coalesce(sent_at, @at)
    WHERE direction = 'out' AND peer = @peer AND id = @id AND state != 'delivered' RETURNING written_at`)
  const prune = db.prepare(`DELETE FROM messages WHERE seq IN (
    SELECT seq FROM messages WHERE peer = @peer AND state != 'queued'
    ORDER BY seq DESC LIMIT -1 OFFSET @keep)`)
  const countOf = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM messages WHERE peer = ?')
  const conversation = db.prepare<[string, number], Row>(`SELECT * FROM (
    SELECT * FROM messages WHERE peer = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`)
  const lastOfEach = db.prepare<[number], Row>(`SELECT m.* FROM messages m
    JOIN (SELECT max(seq) AS seq FROM messages GROUP BY peer) last ON last.seq = m.seq ORDER BY m.seq DESC LIMIT ?`)

  /** Keeps the conversation within MAX_MESSAGES_PER_PEER rows (queued texts count but are never dropped). */
  const bound = (peer: string): void => {
    const count = countOf.get(peer)?.n ?? 0
    if (count <= MAX_MESSAGES_PER_PEER) return
    const queued = queuedCount.get(peer)?.n ?? 0
    prune.run({ peer, keep: Math.max(0, MAX_MESSAGES_PER_PEER - queued) })
  }
  const addOutgoing = db.transaction((message: { id: string, peer: string, text: string, writtenAt: number }) => {
    insertOut.run(message)
    bound(message.peer)
  })
  const addIncoming = db.transaction((message: { id: string, peer: string, text: string, writtenAt: number, sentAt: number, receivedAt: number }): boolean => {
    if (insertIn.run(message).changes === 0) return false
    bound(message.peer)
    return true
  })

  return {
    addOutgoing: message => { addOutgoing(message) },
    undelivered: peer => undelivered.all(peer).map(row => ({
      id: row.id, peer: row.peer, text: row.text, state: row.state, writtenAt: row.written_at, attempts: row.attempts
    })),
    queuedCount: peer => queuedCount.get(peer)?.n ?? 0,
    peersWithUndelivered: () => peersWithUndelivered.all().map(row => row.peer),
    markSent: (peer, id, at) => { markSent.run({ peer, id, at }) },
    markDelivered: (peer, id, at) => markDelivered.get({ peer, id, at })?.written_at,
    addIncoming: message => addIncoming(message),
    conversation: (peer, limit) => conversation.all(peer, limit).map(view),
    lastOfEach: limit => lastOfEach.all(limit).map(view),
    close: () => { db.close() }
  }
}

function view (row: Row): MessageView {
  return {
    id: row.id,
    peer: row.peer,
    direction: row.direction,
    text: row.text,
    state: row.state,
    writtenAt: row.written_at,
    sentAt: row.sent_at,
    deliveredAt: row.delivered_at
  }
}


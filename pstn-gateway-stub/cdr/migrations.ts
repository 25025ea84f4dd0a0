// Versioned schema migrations for the gateway's call detail records (cdr-store.ts). The file
// records the number applied in PRAGMA user_version; append new steps, never edit old ones.
// The CHECKs hold the record's rules, so no code path can store a half-consistent call.
export const CDR_MIGRATIONS: readonly string[] = [
  /* 1: one row per call attempt, Asterisk's CDR in spirit */ `
  CREATE TABLE call_records (
    call_id       TEXT PRIMARY KEY,
    direction     TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    username      TEXT NOT NULL,
    number        TEXT NOT NULL,
    caller_number TEXT CHECK (caller_number IS NULL OR direction = 'inbound'),
    max_billsec   INTEGER CHECK (max_billsec >= 0),
    started_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER,
    billsec       INTEGER NOT NULL DEFAULT 0 CHECK (billsec >= 0),
    disposition   TEXT CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION')),
    reason        TEXT,
    charge_state  TEXT NOT NULL DEFAULT 'none' CHECK (charge_state IN ('none', 'pending', 'charged')),
    cost          INTEGER CHECK (cost >= 0),
    CHECK ((ended_at IS NULL) = (disposition IS NULL) AND (ended_at IS NULL) = (reason IS NULL)),
    CHECK (ended_at IS NULL OR (disposition = 'ANSWERED') = (answered_at IS NOT NULL)),
    CHECK (billsec = 0 OR (answered_at IS NOT NULL AND ended_at IS NOT NULL)),
    CHECK (charge_state = 'none' OR (ended_at IS NOT NULL AND billsec > 0)),
    CHECK ((charge_state = 'charged') = (cost IS NOT NULL))
  ) STRICT;
  CREATE INDEX call_records_by_user ON call_records(username, started_at);
  CREATE INDEX call_records_live ON call_records(started_at) WHERE ended_at IS NULL;
  CREATE INDEX call_records_pending ON call_records(ended_at) WHERE charge_state = 'pending';
  `,
  /* 2: whether the login server has the record (what users see with voxmesh calls --history) */ `
  ALTER TABLE call_records ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX call_records_unreported ON call_records(ended_at) WHERE reported = 0 AND ended_at IS NOT NULL;
  `
]

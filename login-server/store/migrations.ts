// Versioned schema migrations for the SQLite store. The database records the
// number applied in PRAGMA user_version; append new steps, never edit old ones.
// The PostgreSQL store's steps (postgres/migrations.ts) are these, step for step.
export const MIGRATIONS: readonly string[] = [
  /* 1: accounts, sessions, certificates, contacts, blocks, supernodes */ `
  CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    device_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sessions_by_username ON sessions(username);
  CREATE TABLE certificates (
    serial     INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL,
    device_key TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE contact_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    from_user  TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    to_user    TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    hidden     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (from_user, to_user)
  ) STRICT;
  CREATE INDEX contact_requests_by_to ON contact_requests(to_user);
  CREATE TABLE contacts (
    owner   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    contact TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    since   INTEGER NOT NULL,
    PRIMARY KEY (owner, contact)
  ) STRICT;
  CREATE TABLE blocks (
    owner   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    blocked TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    since   INTEGER NOT NULL,
    PRIMARY KEY (owner, blocked)
  ) STRICT;
  CREATE TABLE supernodes (
    device_key     TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    address        TEXT NOT NULL,
    hosts          INTEGER NOT NULL,
    capacity       INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX supernodes_by_expiry ON supernodes(expires_at);
  `,
  /* 2: revocations (logout ends a device's certificates) */ `
  CREATE TABLE revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL,
    device_key TEXT NOT NULL,
    serial     INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX revocations_by_expiry ON revocations(expires_at);
  CREATE INDEX certificates_by_device ON certificates(username, device_key);
  `,
  /* 3: known devices (device cookies): devices that logged in successfully, per user */ `
  CREATE TABLE known_devices (
    username    TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    device_key  TEXT NOT NULL,
    first_login INTEGER NOT NULL,
    last_login  INTEGER NOT NULL,
    PRIMARY KEY (username, device_key)
  ) STRICT;
  `,
  /* 4: accepted contact requests stay listed for a while (NULL: pending) */ `
  ALTER TABLE contact_requests ADD COLUMN accepted_at INTEGER;
  `,
  /* 5: service accounts (the PSTN gateway) and the credit ledger */ `
  CREATE TABLE services (
    name       TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE credit_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    amount     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('credit', 'charge')),
    call_id    TEXT UNIQUE,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((kind = 'charge') = (call_id IS NOT NULL)),
    CHECK ((kind = 'charge') = (amount <= 0))
  ) STRICT;
  CREATE INDEX credit_entries_by_user ON credit_entries(username, id);
  `,
  /* 6: the PSTN gateway's call records, as each user sees theirs (voxmesh calls --history) */ `
  CREATE TABLE pstn_calls (
    call_id       TEXT PRIMARY KEY,
    username      TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    direction     TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    number        TEXT NOT NULL,
    caller_number TEXT,
    started_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER NOT NULL,
    billsec       INTEGER NOT NULL CHECK (billsec >= 0),
    disposition   TEXT NOT NULL,
    reason        TEXT NOT NULL
  ) STRICT;
  CREATE INDEX pstn_calls_by_user ON pstn_calls(username, started_at);
  `,
  /* 7: authorizations of calls to phone numbers: each call id once, holding the credit it may spend */ `
  CREATE TABLE pstn_authorizations (
    call_id         TEXT PRIMARY KEY,
    username        TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    number          TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL CHECK (rate_per_minute >= 0),
    max_seconds     INTEGER NOT NULL CHECK (max_seconds >= 0),
    hold            INTEGER NOT NULL CHECK (hold >= 0),
    authorized_at   INTEGER NOT NULL,
    settled         INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX pstn_authorizations_open ON pstn_authorizations(username) WHERE settled = 0;
  `,
  /* 8: the server's identity (its signing key's public half); rate limits stay in the one process's memory */ `
  CREATE TABLE server_identity (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    signing_public_key  TEXT NOT NULL,
    lookup_secret_check TEXT NOT NULL,
    created_at          INTEGER NOT NULL
  ) STRICT;
  `
]

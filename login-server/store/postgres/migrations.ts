// Versioned schema migrations for the PostgreSQL store: step N here is step N of the SQLite
// store's (../migrations.ts) in PostgreSQL's dialect, so a schema version means the same in both.
// The database records the number applied in schema_version; append new steps, never edit old ones.
// Times are unix seconds (ms for a PSTN call's times) in BIGINT; BIGINT is read back as a number.
export const POSTGRES_MIGRATIONS: readonly string[] = [
  /* 1: accounts, sessions, certificates, contacts, blocks, supernodes */ `
  CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
  );
  CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    device_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX sessions_by_username ON sessions(username);
  CREATE TABLE certificates (
    serial     BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL,
    device_key TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE TABLE contact_requests (
    id         BIGSERIAL PRIMARY KEY,
    from_user  TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    to_user    TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    hidden     BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (from_user, to_user)
  );
  CREATE INDEX contact_requests_by_to ON contact_requests(to_user);
  CREATE TABLE contacts (
    owner   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    contact TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    since   BIGINT NOT NULL,
    PRIMARY KEY (owner, contact)
  );
  CREATE TABLE blocks (
    owner   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    blocked TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    since   BIGINT NOT NULL,
    PRIMARY KEY (owner, blocked)
  );
  CREATE TABLE supernodes (
    device_key     TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    address        TEXT NOT NULL,
    hosts          INTEGER NOT NULL,
    capacity       INTEGER NOT NULL,
    last_heartbeat BIGINT NOT NULL,
    confirmed_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    last_timestamp BIGINT NOT NULL
  );
  CREATE INDEX supernodes_by_expiry ON supernodes(expires_at);
  `,
  /* 2: revocations (logout ends a device's certificates) */ `
  CREATE TABLE revocations (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL,
    device_key TEXT NOT NULL,
    serial     BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX revocations_by_expiry ON revocations(expires_at);
  CREATE INDEX certificates_by_device ON certificates(username, device_key);
  `,
  /* 3: known devices (device cookies): devices that logged in successfully, per user */ `
  CREATE TABLE known_devices (
    username    TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    device_key  TEXT NOT NULL,
    first_login BIGINT NOT NULL,
    last_login  BIGINT NOT NULL,
    PRIMARY KEY (username, device_key)
  );
  `,
  /* 4: accepted contact requests stay listed for a while (NULL: pending) */ `
  ALTER TABLE contact_requests ADD COLUMN accepted_at BIGINT;
  `,
  /* 5: service accounts (the PSTN gateway) and the credit ledger */ `
  CREATE TABLE services (
    name       TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE credit_entries (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    amount     BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('credit', 'charge')),
    call_id    TEXT UNIQUE,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((kind = 'charge') = (call_id IS NOT NULL)),
    CHECK ((kind = 'charge') = (amount <= 0))
  );
  CREATE INDEX credit_entries_by_user ON credit_entries(username, id);
  `,
  /* 6: the PSTN gateway's call records, as each user sees theirs (voxmesh calls --history) */ `
  CREATE TABLE pstn_calls (
    call_id       TEXT PRIMARY KEY,
    username      TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    direction     TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    number        TEXT NOT NULL,
    caller_number TEXT,
    started_at    BIGINT NOT NULL,
    answered_at   BIGINT,
    ended_at      BIGINT NOT NULL,
    billsec       BIGINT NOT NULL CHECK (billsec >= 0),
    disposition   TEXT NOT NULL,
    reason        TEXT NOT NULL
  );
  CREATE INDEX pstn_calls_by_user ON pstn_calls(username, started_at);
  `,
  /* 7: authorizations of calls to phone numbers: each call id once, holding the credit it may spend */ `
  CREATE TABLE pstn_authorizations (
    call_id         TEXT PRIMARY KEY,
    username        TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    number          TEXT NOT NULL,
    rate_per_minute BIGINT NOT NULL CHECK (rate_per_minute >= 0),
    max_seconds     BIGINT NOT NULL CHECK (max_seconds >= 0),
    hold            BIGINT NOT NULL CHECK (hold >= 0),
    authorized_at   BIGINT NOT NULL,
    settled         BOOLEAN NOT NULL DEFAULT false
  );
  CREATE INDEX pstn_authorizations_open ON pstn_authorizations(username) WHERE NOT settled;
  `,
  /* 8: the server's identity (its signing key's public half), and rate-limit counters all instances share */ `
  CREATE TABLE server_identity (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    signing_public_key TEXT NOT NULL,
    lookup_secret_check TEXT NOT NULL,
    created_at         BIGINT NOT NULL
  );
  CREATE TABLE rate_limits (
    limiter      TEXT NOT NULL,
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (limiter, key)
  );
  CREATE INDEX rate_limits_by_window ON rate_limits(window_start);
  `
]

-- The issuer push API: registered issuer clients, pushed badges (held for an address no
-- account has confirmed yet, or delivered to an account's inbox), per-client rate windows,
-- the issuers a learner accepts automatically, and service-wide keys shared by every
-- instance on this database (the access-token signing key).
CREATE TABLE issuer_clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    -- The registered origins (scheme://host[:port]), one per line.
    origins TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE pushes (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES issuer_clients(id) ON DELETE CASCADE,
    -- What makes two pushes of one client the same badge (backpack::dedupe_key).
    dedupe_key TEXT NOT NULL,
    idempotency_key TEXT,
    -- SHA-256 of the request body, to tell a replay from a reused Idempotency-Key.
    request_hash TEXT NOT NULL,
    address_lower TEXT NOT NULL,
    -- held, delivered, accepted, declined or expired.
    state TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    -- The badge as the issuer sent it; emptied once the learner has decided or it expired.
    input BLOB NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    issuer_id TEXT NOT NULL,
    issuer_name TEXT,
    issued_on TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    decided_at TIMESTAMP
);
CREATE UNIQUE INDEX pushes_client_dedupe ON pushes (client_id, dedupe_key);
CREATE UNIQUE INDEX pushes_client_idempotency ON pushes (client_id, idempotency_key);
CREATE INDEX pushes_address_state ON pushes (address_lower, state);
CREATE INDEX pushes_user_state ON pushes (user_id, state, created_at);
CREATE INDEX pushes_state_created ON pushes (state, created_at);

CREATE TABLE push_rate_windows (
    client_id TEXT NOT NULL REFERENCES issuer_clients(id) ON DELETE CASCADE,
    window_start TIMESTAMP NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (client_id, window_start)
);

CREATE TABLE push_auto_accepts (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer_id TEXT NOT NULL,
    issuer_name TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, issuer_id)
);

CREATE TABLE service_keys (
    name TEXT PRIMARY KEY NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Badges in learners' backpacks, their status history, collections and API tokens.
CREATE TABLE badges (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    dedupe_key TEXT NOT NULL,
    status TEXT NOT NULL,
    pending_address TEXT,
    version TEXT,
    name TEXT NOT NULL,
    description TEXT,
    issuer_name TEXT,
    issuer_url TEXT,
    issued_on TIMESTAMP,
    expires_at TIMESTAMP,
    matched_address TEXT,
    match_form TEXT,
    carrier TEXT NOT NULL,
    original BLOB NOT NULL,
    payload TEXT NOT NULL,
    badge_json TEXT NOT NULL,
    report_json TEXT NOT NULL,
    image BLOB,
    image_type TEXT,
    public_slug TEXT,
    checked_at TIMESTAMP NOT NULL,
    next_check_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX badges_user_dedupe ON badges (user_id, dedupe_key);
CREATE INDEX badges_user_created ON badges (user_id, created_at);
CREATE INDEX badges_next_check ON badges (next_check_at);
CREATE UNIQUE INDEX badges_public_slug ON badges (public_slug);

CREATE TABLE badge_events (
    id TEXT PRIMARY KEY NOT NULL,
    badge_id TEXT NOT NULL REFERENCES badges(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX badge_events_badge ON badge_events (badge_id, at);

CREATE TABLE collections (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    public_slug TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX collections_user ON collections (user_id);
CREATE UNIQUE INDEX collections_public_slug ON collections (public_slug);

CREATE TABLE collection_badges (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    badge_id TEXT NOT NULL REFERENCES badges(id) ON DELETE CASCADE,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (collection_id, badge_id)
);
CREATE INDEX collection_badges_badge ON collection_badges (badge_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

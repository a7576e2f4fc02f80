-- Accounts, their email addresses, confirmation tokens and sign-in sessions.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE emails (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    address_lower TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    confirmed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX emails_user_address ON emails (user_id, address_lower);
CREATE UNIQUE INDEX emails_confirmed_address ON emails (address_lower)
    WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX emails_primary_address ON emails (address_lower) WHERE is_primary;
CREATE UNIQUE INDEX emails_one_primary ON emails (user_id) WHERE is_primary;

CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    email_id TEXT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX email_tokens_email ON email_tokens (email_id, created_at);
CREATE INDEX email_tokens_user ON email_tokens (user_id, created_at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

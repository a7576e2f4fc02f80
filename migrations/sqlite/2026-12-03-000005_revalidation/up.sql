-- Revalidation: failed attempts since the last good check, a lease so that one worker
-- checks a badge at a time, and the issuer's last copy of a hosted badge with the
-- validators that make the next fetch conditional.
ALTER TABLE badges ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE badges ADD COLUMN stale_since TIMESTAMP;
ALTER TABLE badges ADD COLUMN lease_owner TEXT;
ALTER TABLE badges ADD COLUMN lease_until TIMESTAMP;

CREATE TABLE badge_copies (
    badge_id TEXT PRIMARY KEY NOT NULL REFERENCES badges(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body TEXT NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

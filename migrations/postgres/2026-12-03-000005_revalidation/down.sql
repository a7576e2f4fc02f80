DROP TABLE badge_copies;
ALTER TABLE badges DROP COLUMN lease_until;
ALTER TABLE badges DROP COLUMN lease_owner;
ALTER TABLE badges DROP COLUMN stale_since;
ALTER TABLE badges DROP COLUMN failures;

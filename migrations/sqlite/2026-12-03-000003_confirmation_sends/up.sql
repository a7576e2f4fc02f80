-- Every confirmation mail sent, kept apart from addresses and tokens so that removing and
-- re-adding an address cannot reset the hourly limits.
CREATE TABLE confirmation_sends (
    id TEXT PRIMARY KEY NOT NULL,
    address_lower TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX confirmation_sends_address ON confirmation_sends (address_lower, sent_at);
CREATE INDEX confirmation_sends_user ON confirmation_sends (user_id, sent_at);

-- Only a confirmed primary address is unique: an account that registered someone else's
-- address and never confirmed it must not block the real owner.
DROP INDEX emails_primary_address;
CREATE UNIQUE INDEX emails_primary_address ON emails (address_lower)
    WHERE is_primary AND confirmed_at IS NOT NULL;

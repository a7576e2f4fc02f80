DROP INDEX emails_primary_address;
CREATE UNIQUE INDEX emails_primary_address ON emails (address_lower) WHERE is_primary;
DROP TABLE confirmation_sends;

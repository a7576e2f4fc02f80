DROP TABLE sessions;
DROP TABLE email_tokens;
DROP TABLE emails;
DROP TABLE users;

DROP TABLE api_tokens;
DROP TABLE collection_badges;
DROP TABLE collections;
DROP TABLE badge_events;
DROP TABLE badges;

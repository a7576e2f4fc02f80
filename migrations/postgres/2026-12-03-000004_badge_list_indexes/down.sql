DROP INDEX badges_status_created;
DROP INDEX badges_user_issuer;
DROP INDEX badges_user_name;
DROP INDEX badges_user_issued;

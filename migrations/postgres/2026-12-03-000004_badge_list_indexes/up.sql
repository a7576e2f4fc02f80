-- Indexes matching the backpack's sort orders, so a page reads 24 rows instead of sorting
-- the whole account, and one for the pending-badge sweep.
CREATE INDEX badges_user_issued ON badges (user_id, issued_on DESC, created_at DESC);
CREATE INDEX badges_user_name ON badges (user_id, name, created_at DESC);
CREATE INDEX badges_user_issuer ON badges (user_id, issuer_name, name);
CREATE INDEX badges_status_created ON badges (status, created_at);

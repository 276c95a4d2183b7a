-- Account deletion (issue 4). Same in both dialects. A deleted local account keeps its row, its
-- username (reserved, as Mastodon does) and its key, so the Delete(Person)
-- deliveries queued for its followers can still be signed; its actor answers
-- 410 Gone. Remote accounts deleted by their server are removed outright.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;

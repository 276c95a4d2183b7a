-- A row version on accounts, bumped by every UPDATE whatever code path runs
-- it (profile edits, counters, remote refreshes). Presenters cache rendered
-- account entities per process and reuse one only while its version matches
-- the row's, so every process sees every change on its next read.
ALTER TABLE accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION bump_row_version() RETURNS trigger AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_version BEFORE UPDATE ON accounts
FOR EACH ROW EXECUTE FUNCTION bump_row_version();

-- Home timelines look up the few followed accounts too big to fan out to
-- (followers_count above the threshold) on every read: start from the big
-- accounts, not from every follow of the viewer.
CREATE INDEX accounts_followers_count ON accounts (followers_count);

-- Fan-out reads only local followers and delivery only remote ones, so each
-- follow records which kind its follower is (an account never changes
-- between local and remote), and partial indexes serve each path without
-- touching the other's rows or the accounts table.
ALTER TABLE follows ADD COLUMN local_follower BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE follows SET local_follower = coalesce(
    (SELECT a.domain IS NULL FROM accounts a WHERE a.id = follows.account_id), FALSE);
CREATE INDEX follows_local_followers ON follows (target_account_id, account_id) WHERE local_follower;
CREATE INDEX follows_remote_followers ON follows (target_account_id, account_id) WHERE NOT local_follower;
CREATE INDEX follows_notify ON follows (target_account_id, account_id) WHERE notify;

-- The same for statuses: any change to a status row (an edit, a counter, a
-- deletion) bumps its version, so the store's per-process row cache can
-- serve timelines from a three-column query.
ALTER TABLE statuses ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER statuses_version BEFORE UPDATE ON statuses
FOR EACH ROW EXECUTE FUNCTION bump_row_version();

-- A viewer's boosts among a timeline page (the `reblogged` flag), found by
-- range like their favourites and bookmarks.
CREATE INDEX statuses_account_reblogs ON statuses (account_id, reblog_of_id)
    WHERE reblog_of_id IS NOT NULL;

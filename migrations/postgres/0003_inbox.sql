-- Federation, inbound: verified activities (deduplicated by their id) and
-- remote actors' keys. PostgreSQL dialect; ../sqlite/0003_inbox.sql matches.

-- Every activity that passed inbox verification, once. The unique index is
-- the dedupe: a replay finds its id taken and has no second effect.
CREATE TABLE inbox_activities (
    id BIGINT PRIMARY KEY,
    activity_id TEXT NOT NULL,
    actor_uri TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX inbox_activities_activity_id ON inbox_activities (activity_id);

-- The key id a remote actor signs with (`…#main-key`), to find the key from a
-- signature; local keys have none stored (their id is derived).
ALTER TABLE account_keys ADD COLUMN key_id TEXT;
CREATE UNIQUE INDEX account_keys_key_id ON account_keys (key_id);
ALTER TABLE account_keys ADD COLUMN fetched_at BIGINT;

-- Objects deleted by their authors, so a Create that arrives after its
-- Delete (deliveries race) does not bring them back.
CREATE TABLE tombstones (
    uri TEXT PRIMARY KEY,
    actor_uri TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);

-- Starling schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_initial.sql.
-- Times are milliseconds since the Unix epoch (UTC); ids are Snowflake-style
-- 64-bit integers (see node/src/id.rs). Flags are BOOLEAN here and INTEGER
-- 0/1 on SQLite; the store reads both.

-- Local and remote actors alike. Local accounts have domain NULL and uri NULL
-- (their URLs are derived from the configured domain).
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    domain TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    uri TEXT,
    url TEXT,
    inbox_url TEXT,
    shared_inbox_url TEXT,
    outbox_url TEXT,
    followers_url TEXT,
    following_url TEXT,
    featured_url TEXT,
    actor_type TEXT NOT NULL DEFAULT 'Person',
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    discoverable BOOLEAN NOT NULL DEFAULT TRUE,
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    avatar_url TEXT,
    header_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_username_domain ON accounts (lower(username), lower(coalesce(domain, '')));
CREATE UNIQUE INDEX accounts_uri ON accounts (uri);

-- Signing keys, apart from accounts: the private key is read only to sign,
-- never with the account rows every timeline loads.
CREATE TABLE account_keys (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT
);

-- Sign-in data of local accounts.
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Posts, local and remote. Local posts have uri NULL.
CREATE TABLE statuses (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT,
    url TEXT,
    local BOOLEAN NOT NULL,
    in_reply_to_id BIGINT,
    in_reply_to_account_id BIGINT,
    reblog_of_id BIGINT,
    text TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    visibility TEXT NOT NULL,
    language TEXT,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX statuses_uri ON statuses (uri);
CREATE INDEX statuses_account_id ON statuses (account_id, id);

-- The instance actor's key pair (exactly one row).
CREATE TABLE instance_keys (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Direct messages grouped into conversations, as Mastodon does: one
-- `conversations` row per thread of direct statuses, `conversation_statuses`
-- placing each direct status in its thread, and one `account_conversations`
-- row per local participant with the other participants, the newest status
-- that participant may see, and its unread state.
CREATE TABLE conversations (
    id BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversation_statuses (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE
);
CREATE INDEX conversation_statuses_thread ON conversation_statuses (conversation_id, status_id);

CREATE TABLE account_conversations (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The other participants' account ids, ascending, comma-separated.
    participant_account_ids TEXT NOT NULL DEFAULT '',
    last_status_id BIGINT,
    unread INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, conversation_id)
);
-- The list is paged by newest activity.
CREATE INDEX account_conversations_recent ON account_conversations (account_id, last_status_id);
CREATE INDEX account_conversations_last ON account_conversations (last_status_id);

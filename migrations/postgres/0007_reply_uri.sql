-- The parent's ActivityPub id of a remote reply, kept whether or not the
-- parent is stored: `/api/v1/statuses/:id/context` fetches a missing parent by
-- it, and a parent that arrives late is linked to the replies waiting for it.
ALTER TABLE statuses ADD COLUMN in_reply_to_uri TEXT;
CREATE INDEX statuses_reply_uri ON statuses (in_reply_to_uri) WHERE in_reply_to_uri IS NOT NULL;

-- A remote status can be looked up by its web URL as well as by its id.
CREATE INDEX statuses_url ON statuses (url) WHERE url IS NOT NULL;
CREATE INDEX accounts_url ON accounts (url) WHERE url IS NOT NULL;

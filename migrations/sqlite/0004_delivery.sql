-- Federation, outbound: per-host delivery health (the dead-host breaker) and
-- the target host of each delivery job. SQLite dialect;
-- ../postgres/0004_delivery.sql matches.

-- A remote host that failed our last deliveries. No row: healthy. A success,
-- or a signed request from the host, deletes the row.
CREATE TABLE hosts (
    -- `host[:port]`, as in the inbox URL.
    domain TEXT PRIMARY KEY,
    -- Consecutive failed deliveries (connection errors, timeouts, 408, 5xx).
    failures BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    -- Set when the breaker trips: until then no delivery to this host is
    -- attempted (its jobs stay queued, unclaimed); after it, one delivery
    -- may go as a probe, which pushes this forward again.
    unavailable_until BIGINT,
    last_probe_at BIGINT
);
CREATE INDEX hosts_unavailable ON hosts (unavailable_until);

-- The host a `deliver` job POSTs to (NULL for other kinds), so the claim can
-- skip unavailable hosts and hosts already at their concurrency cap.
ALTER TABLE jobs ADD COLUMN host TEXT;
CREATE INDEX jobs_host ON jobs (host);

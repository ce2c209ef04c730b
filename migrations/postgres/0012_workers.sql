-- Remote workers (issue 7): each registration with the studio's worker token gets its own
-- token, stored only as its sha256. Capabilities are JSON (jobs::split::Capabilities). Times
-- are Unix milliseconds. Keep in step with migrations/sqlite/0012_workers.sql.

CREATE TABLE workers (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT    NOT NULL,
    token_sha256   TEXT    NOT NULL UNIQUE,
    capabilities   TEXT    NOT NULL,
    registered_at  BIGINT  NOT NULL,
    last_seen_at   BIGINT  NOT NULL,
    stopped_at     BIGINT              -- set when the worker said it stopped (drained)
);

-- Remote workers (issue 7): each registration with the studio's worker token gets its own
-- token, stored only as its sha256. Capabilities are JSON (jobs::split::Capabilities). Times
-- are Unix milliseconds. Keep in step with migrations/postgres/0012_workers.sql.

CREATE TABLE workers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL,
    token_sha256   TEXT    NOT NULL UNIQUE,
    capabilities   TEXT    NOT NULL,
    registered_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    stopped_at     INTEGER             -- set when the worker said it stopped (drained)
);

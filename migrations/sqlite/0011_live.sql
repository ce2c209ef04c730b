-- Live playout: one row per playout run of a show (the active node's heartbeat and status),
-- the as-run log, and what happened to each destination. Times are Unix milliseconds; JSON
-- is TEXT. Keep in step with migrations/postgres/0011_live.sql.

CREATE TABLE live_sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    show_id         INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    show_version    INTEGER NOT NULL,
    node            TEXT    NOT NULL,          -- host and process of the playout
    took_over_from  INTEGER REFERENCES live_sessions(id),   -- set when a standby took over
    state           TEXT    NOT NULL,          -- on_air | ended | failed
    destinations    TEXT    NOT NULL,          -- JSON [name], never stream keys
    started_at      INTEGER NOT NULL,
    heartbeat_at    INTEGER NOT NULL,
    ended_at        INTEGER,
    end_reason      TEXT,
    status          TEXT    NOT NULL           -- JSON live::LiveStatus, the monitor's view
);
CREATE INDEX live_sessions_show ON live_sessions (show_id, id);

-- One row per item that went on air (items inserted on air have ids from 2^62 up).
CREATE TABLE as_run (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    show_id         INTEGER NOT NULL,
    item_id         INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    planned_start   INTEGER NOT NULL,
    planned_ms      INTEGER NOT NULL,
    actual_start    INTEGER NOT NULL,
    actual_ms       INTEGER,                   -- null while on air
    replaced_by     TEXT,                      -- slate
    replaced_from_ms INTEGER,
    reason          TEXT,
    note            TEXT
);
CREATE INDEX as_run_show ON as_run (show_id, actual_start);

CREATE TABLE live_destination_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    destination     TEXT    NOT NULL,
    event           TEXT    NOT NULL,          -- dropped | back
    at              INTEGER NOT NULL,
    detail          TEXT    NOT NULL,
    outage_ms       INTEGER
);

-- Live control from the studio (any server) to the node on air, which polls and takes them.
CREATE TABLE live_commands (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      INTEGER NOT NULL REFERENCES live_sessions(id) ON DELETE CASCADE,
    command         TEXT    NOT NULL,          -- JSON live::Command
    author_id       INTEGER REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    taken_at        INTEGER
);
CREATE INDEX live_commands_open ON live_commands (session_id, taken_at);

-- Shows and every version of their running order (PostgreSQL). Times are Unix milliseconds; JSON
-- is TEXT. Keep in step with migrations/sqlite/0009_shows.sql.

CREATE TABLE shows (
    id              BIGSERIAL PRIMARY KEY,
    version         BIGINT  NOT NULL,          -- the current version; edits compare and bump it
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Append-only: one row per saved change. `position` is the version whose state this one is
-- in the linear undo history (an undo restores an earlier state and takes its position).
CREATE TABLE show_versions (
    show_id         BIGINT  NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    version         BIGINT  NOT NULL,
    position        BIGINT  NOT NULL,
    meta            TEXT    NOT NULL,          -- JSON show::ShowMeta
    running_order   TEXT    NOT NULL,          -- JSON show::RunningOrder
    edits           TEXT    NOT NULL,          -- JSON [show::Edit], [] for the first version and undos
    summary         TEXT    NOT NULL,          -- the change in words
    author_id       BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (show_id, version)
);

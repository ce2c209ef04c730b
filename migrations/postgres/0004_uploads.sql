-- Resumable (tus) uploads (PostgreSQL). Keep in step with migrations/sqlite/0004_uploads.sql.
-- The row is the truth about an upload: a studio restarted, or another studio server, resumes
-- from it. The bytes live in data_dir/uploads/<id>.part and never past offset_bytes.
CREATE TABLE uploads (
    id               TEXT    PRIMARY KEY,      -- 128 random bits, hex; also the file name
    owner_id         BIGINT  NOT NULL,         -- the user who created it (users.id)
    length           BIGINT  NOT NULL,         -- Upload-Length, bytes
    offset_bytes     BIGINT  NOT NULL DEFAULT 0, -- bytes received, written and fsynced
    state            TEXT    NOT NULL,         -- receiving | completing | finished | failed | expired | terminated
    filename         TEXT,                     -- display text only, never a path
    filetype         TEXT,                     -- MIME type the client declared
    metadata         TEXT    NOT NULL,         -- JSON object of the decoded Upload-Metadata
    sha256           TEXT,                     -- hex digest of the whole file, once complete
    lock_token       TEXT,                     -- held by the request writing (or handing off) it
    locked_until     BIGINT ,                  -- the lock lapses after this time (ms)
    handoff_attempts BIGINT  NOT NULL DEFAULT 0, -- calls of on_complete that failed
    last_error       TEXT,                     -- why the last hand-off failed
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,         -- unfinished after this: expired
    finished_at      BIGINT 
);

CREATE INDEX uploads_owner ON uploads (owner_id, state);
CREATE INDEX uploads_expiry ON uploads (state, expires_at);

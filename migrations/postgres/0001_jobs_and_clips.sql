-- Durable jobs and ingested clips (PostgreSQL). Times are Unix milliseconds; JSON is TEXT.
-- Keep in step with migrations/sqlite/0001_jobs_and_clips.sql.

CREATE TABLE clips (
    id                 BIGSERIAL PRIMARY KEY,
    source_name        TEXT    NOT NULL,          -- what the creator called the file; display only, never a path
    source_sha256      TEXT    NOT NULL,          -- key of the original in the media store
    source_size        BIGINT  NOT NULL,
    state              TEXT    NOT NULL,          -- see ClipState
    reason             TEXT,                      -- human-readable, when rejected or failed
    probe              TEXT,                      -- JSON ProbeInfo of the source
    normalized_sha256  TEXT,
    normalize_report   TEXT,                      -- JSON NormalizeReport
    qc_report          TEXT,                      -- JSON QcReport
    qc_summary         TEXT,
    poster_sha256      TEXT,
    sheet_sha256       TEXT,
    waveform_sha256    TEXT,
    proxy_sha256       TEXT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE TABLE jobs (
    id                 BIGSERIAL PRIMARY KEY,
    kind               TEXT    NOT NULL,
    payload            TEXT    NOT NULL,          -- JSON input of the handler
    state              TEXT    NOT NULL,          -- queued | running | done | failed
    priority           BIGINT  NOT NULL DEFAULT 100, -- lower runs first
    attempts           BIGINT  NOT NULL DEFAULT 0,
    max_attempts       BIGINT  NOT NULL,
    progress           DOUBLE PRECISION NOT NULL DEFAULT 0, -- 0..1
    progress_note      TEXT,
    lease_owner        TEXT,                      -- worker id holding the lease
    lease_expires_at   BIGINT,
    run_after          BIGINT  NOT NULL,          -- not claimed before this time (backoff)
    last_error         TEXT,
    result             TEXT,                      -- JSON output of the handler
    parent_id          BIGINT  REFERENCES jobs(id), -- the job whose success enqueued this one
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    finished_at        BIGINT
);

CREATE INDEX jobs_claimable ON jobs (state, run_after, priority, id);
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
CREATE INDEX clips_state ON clips (state);

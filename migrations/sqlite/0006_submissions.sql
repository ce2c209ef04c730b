-- Submissions and their versions (SQLite). Keep in step with migrations/postgres/0006_submissions.sql.
-- The processing state of a submission is not stored: it is derived from its latest version's
-- clip (no version yet: uploading).
CREATE TABLE submissions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    category          TEXT    NOT NULL,   -- music | music_video | digital_human | dance | sketch_comedy | folk_heritage | other
    title             TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    credits           TEXT    NOT NULL,   -- JSON {"people":[{"name","role"}],"ai_tools":["…"]}
    language          TEXT    NOT NULL,   -- BCP-47 tag, or "none" for no speech
    rights_confirmed  INTEGER NOT NULL,   -- 0/1
    consent_confirmed INTEGER NOT NULL,   -- 0/1
    selection         TEXT    NOT NULL,   -- in_review | accepted | needs_changes | not_selected
    review_reason     TEXT,               -- the reviewer's words to the creator
    locked            INTEGER NOT NULL DEFAULT 0, -- 1: review locked it, no more edits
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX submissions_owner ON submissions (owner_id, id);

-- Each upload sent for a submission; number 1, 2, … A finished upload makes one version at most.
CREATE TABLE submission_versions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    upload_id     TEXT    NOT NULL UNIQUE,
    clip_id       INTEGER NOT NULL REFERENCES clips(id),
    created_at    INTEGER NOT NULL,
    UNIQUE (submission_id, number)
);

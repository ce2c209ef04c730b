-- Submissions and their versions (sqlite). Times are Unix milliseconds; JSON is TEXT.
-- The contract the review queue codes against; the submissions feature owns this file.
-- Keep in step with the other backend's 0006_submissions.sql.

CREATE TABLE submissions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id           INTEGER  NOT NULL REFERENCES users(id),
    category           TEXT    NOT NULL,          -- music | music_video | digital_human | dance | sketch_comedy | folk_heritage | other
    title              TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    credits            TEXT    NOT NULL,          -- JSON {"people":[{"name","role"}],"ai_tools":[...]}
    language           TEXT    NOT NULL,
    rights_confirmed   INTEGER  NOT NULL,          -- 0 | 1
    consent_confirmed  INTEGER  NOT NULL,          -- 0 | 1
    selection          TEXT    NOT NULL,          -- in_review | accepted | needs_changes | not_selected
    review_reason      TEXT,
    locked             INTEGER  NOT NULL DEFAULT 0, -- 0 | 1
    created_at         INTEGER  NOT NULL,
    updated_at         INTEGER  NOT NULL
);
CREATE INDEX submissions_owner ON submissions (owner_id);

-- Every upload of a submission; the highest number is the one reviewed.
CREATE TABLE submission_versions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id      INTEGER  NOT NULL REFERENCES submissions(id),
    number             INTEGER  NOT NULL,
    upload_id          TEXT    UNIQUE,
    clip_id            INTEGER  REFERENCES clips(id),
    created_at         INTEGER  NOT NULL
);
CREATE UNIQUE INDEX submission_versions_number ON submission_versions (submission_id, number);

-- Submissions and their versions (PostgreSQL). Keep in step with migrations/sqlite/0006_submissions.sql.
-- The processing state of a submission is not stored: it is derived from its latest version's
-- clip (no version yet: uploading).
CREATE TABLE submissions (
    id                BIGSERIAL PRIMARY KEY,
    owner_id          BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    category          TEXT    NOT NULL,   -- music | music_video | digital_human | dance | sketch_comedy | folk_heritage | other
    title             TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    credits           TEXT    NOT NULL,   -- JSON {"people":[{"name","role"}],"ai_tools":["…"]}
    language          TEXT    NOT NULL,   -- BCP-47 tag, or "none" for no speech
    rights_confirmed  BIGINT  NOT NULL,   -- 0/1
    consent_confirmed BIGINT  NOT NULL,   -- 0/1
    selection         TEXT    NOT NULL,   -- in_review | accepted | needs_changes | not_selected
    review_reason     TEXT,               -- the reviewer's words to the creator
    locked            BIGINT  NOT NULL DEFAULT 0, -- 1: review locked it, no more edits
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX submissions_owner ON submissions (owner_id, id);

-- Each upload sent for a submission; number 1, 2, … A finished upload makes one version at most.
CREATE TABLE submission_versions (
    id            BIGSERIAL PRIMARY KEY,
    submission_id BIGINT  NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    number        BIGINT  NOT NULL,
    upload_id     TEXT    NOT NULL UNIQUE,
    clip_id       BIGINT  NOT NULL REFERENCES clips(id),
    created_at    BIGINT  NOT NULL,
    UNIQUE (submission_id, number)
);

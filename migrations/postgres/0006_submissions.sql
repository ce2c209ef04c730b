-- Submissions and their versions (postgres). Times are Unix milliseconds; JSON is TEXT.
-- The contract the review queue codes against; the submissions feature owns this file.
-- Keep in step with the other backend's 0006_submissions.sql.

CREATE TABLE submissions (
    id                 BIGSERIAL PRIMARY KEY,
    owner_id           BIGINT  NOT NULL REFERENCES users(id),
    category           TEXT    NOT NULL,          -- music | music_video | digital_human | dance | sketch_comedy | folk_heritage | other
    title              TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    credits            TEXT    NOT NULL,          -- JSON {"people":[{"name","role"}],"ai_tools":[...]}
    language           TEXT    NOT NULL,
    rights_confirmed   BIGINT  NOT NULL,          -- 0 | 1
    consent_confirmed  BIGINT  NOT NULL,          -- 0 | 1
    selection          TEXT    NOT NULL,          -- in_review | accepted | needs_changes | not_selected
    review_reason      TEXT,
    locked             BIGINT  NOT NULL DEFAULT 0, -- 0 | 1
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE INDEX submissions_owner ON submissions (owner_id);

-- Every upload of a submission; the highest number is the one reviewed.
CREATE TABLE submission_versions (
    id                 BIGSERIAL PRIMARY KEY,
    submission_id      BIGINT  NOT NULL REFERENCES submissions(id),
    number             BIGINT  NOT NULL,
    upload_id          TEXT    UNIQUE,
    clip_id            BIGINT  REFERENCES clips(id),
    created_at         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX submission_versions_number ON submission_versions (submission_id, number);

-- Analysis of clips (SQLite): fingerprints and duplicates, captions, model checks, verdicts and
-- watched words. Times are Unix milliseconds; JSON is TEXT.
-- Keep in step with migrations/postgres/0008_analysis.sql.

-- One fingerprint per clip. A re-run deletes and inserts, so the row id only grows: workers
-- keep their duplicate index current by reading rows above the last id they saw.
CREATE TABLE clip_fingerprints (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id           INTEGER NOT NULL UNIQUE REFERENCES clips(id),
    fingerprint       TEXT    NOT NULL,          -- JSON analysis::fingerprint::Fingerprint
    created_at        INTEGER NOT NULL
);

-- Clip `clip_id` was found to duplicate `other_clip_id` (looked up when `clip_id` was fingerprinted).
CREATE TABLE clip_duplicates (
    clip_id           INTEGER NOT NULL REFERENCES clips(id),
    other_clip_id     INTEGER NOT NULL REFERENCES clips(id),
    score             REAL    NOT NULL,          -- 0..1
    matched_frames    INTEGER NOT NULL,
    audio_similarity  REAL,                      -- 0..1, NULL when either has no audio
    offset_ms         INTEGER,                   -- their time minus ours
    evidence          TEXT    NOT NULL,          -- JSON [[our s, their s], …]
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (clip_id, other_clip_id)
);
CREATE INDEX clip_duplicates_other ON clip_duplicates (other_clip_id);

-- Captions of a clip. Automatic rows are kept; a human edit is a new row based on another.
CREATE TABLE captions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id           INTEGER NOT NULL REFERENCES clips(id),
    language          TEXT    NOT NULL,          -- ISO 639-1 (en, zh)
    source            TEXT    NOT NULL,          -- auto | edited | auto-translation
    cues              TEXT    NOT NULL,          -- JSON [{start_ms, end_ms, text}]
    model             TEXT    NOT NULL,          -- the model that made it; empty for edits
    edited_by         INTEGER REFERENCES users(id),
    based_on          INTEGER REFERENCES captions(id),
    created_at        INTEGER NOT NULL
);
CREATE INDEX captions_clip ON captions (clip_id, id);

-- The outcome of each analysis check of a clip; a re-run replaces it.
CREATE TABLE clip_checks (
    clip_id           INTEGER NOT NULL REFERENCES clips(id),
    name              TEXT    NOT NULL,          -- captions | translation | text | watched_words | frames | policy | duplicates
    status            TEXT    NOT NULL,          -- done | failed | not_configured
    flags             TEXT    NOT NULL,          -- JSON: model flags or watched-word hits
    error             TEXT,
    model             TEXT    NOT NULL,
    duration_ms       INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (clip_id, name)
);

-- The advice of the analysis for a clip (never a decision: reviewers decide).
CREATE TABLE clip_verdicts (
    clip_id           INTEGER PRIMARY KEY REFERENCES clips(id),
    outcome           TEXT    NOT NULL,          -- pass | review | reject
    reasons           TEXT    NOT NULL,          -- JSON [Reason]
    incomplete        TEXT    NOT NULL,          -- JSON ["check: why", …]
    created_at        INTEGER NOT NULL
);

-- Words and phrases moderation watches for in titles, descriptions and transcripts.
CREATE TABLE watched_words (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    word              TEXT    NOT NULL UNIQUE,
    category          TEXT    NOT NULL,
    severity          TEXT    NOT NULL,          -- review | reject
    note              TEXT    NOT NULL,
    created_by        INTEGER REFERENCES users(id),
    created_at        INTEGER NOT NULL
);

-- Energy analysis of clips and review scores (SQLite). Times are Unix milliseconds.
-- Keep in step with migrations/postgres/0010_energy_scores.sql.

-- One row per clip, from the analysis.energy job (analysis::energy); replaced on a re-run.
CREATE TABLE clip_energy (
    clip_id           INTEGER PRIMARY KEY REFERENCES clips(id),
    bpm               REAL,                      -- beats per minute, NULL without a regular pulse
    bpm_confidence    REAL    NOT NULL,          -- 0..1
    onset_rate        REAL    NOT NULL,          -- onsets per second
    st_mean           REAL,                      -- short-term loudness mean, LUFS; NULL for silence
    st_p90            REAL,                      -- short-term loudness 90th percentile, LUFS
    lra               REAL    NOT NULL,          -- loudness range, LU
    centroid_hz       REAL,                      -- spectral centroid, Hz; NULL for silence
    energy            REAL    NOT NULL,          -- 0 (calm) .. 1 (lively)
    computed_at       INTEGER NOT NULL
);

-- The reviewer's score of the act, 1..5; NULL when the decision gave none.
ALTER TABLE review_decisions ADD COLUMN score INTEGER;

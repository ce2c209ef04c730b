-- Energy analysis of clips and review scores (PostgreSQL). Times are Unix milliseconds.
-- Keep in step with migrations/sqlite/0010_energy_scores.sql.

-- One row per clip, from the analysis.energy job (analysis::energy); replaced on a re-run.
CREATE TABLE clip_energy (
    clip_id           BIGINT  PRIMARY KEY REFERENCES clips(id),
    bpm               DOUBLE PRECISION,          -- beats per minute, NULL without a regular pulse
    bpm_confidence    DOUBLE PRECISION NOT NULL, -- 0..1
    onset_rate        DOUBLE PRECISION NOT NULL, -- onsets per second
    st_mean           DOUBLE PRECISION,          -- short-term loudness mean, LUFS; NULL for silence
    st_p90            DOUBLE PRECISION,          -- short-term loudness 90th percentile, LUFS
    lra               DOUBLE PRECISION NOT NULL, -- loudness range, LU
    centroid_hz       DOUBLE PRECISION,          -- spectral centroid, Hz; NULL for silence
    energy            DOUBLE PRECISION NOT NULL, -- 0 (calm) .. 1 (lively)
    computed_at       BIGINT  NOT NULL
);

-- The reviewer's score of the act, 1..5; NULL when the decision gave none.
ALTER TABLE review_decisions ADD COLUMN score BIGINT;

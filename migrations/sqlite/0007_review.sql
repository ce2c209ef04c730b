-- The review queue (sqlite): the decisions' audit log, assignments and reason templates.
-- Times are Unix milliseconds. Keep in step with the other backend's 0007_review.sql.

-- Append-only: one row per decision, with the selection it replaced.
CREATE TABLE review_decisions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id      INTEGER  NOT NULL REFERENCES submissions(id),
    version_number     INTEGER  NOT NULL,
    reviewer_id        INTEGER  NOT NULL REFERENCES users(id),
    decision           TEXT    NOT NULL,          -- accept | needs_changes | reject
    reason_template    TEXT,                      -- reason_templates.code, when one was chosen
    note               TEXT    NOT NULL,
    previous_selection TEXT    NOT NULL,
    created_at         INTEGER  NOT NULL
);
CREATE INDEX review_decisions_submission ON review_decisions (submission_id, id);
CREATE INDEX review_decisions_reviewer ON review_decisions (reviewer_id);

-- Who reviews a submission; at most one reviewer each.
CREATE TABLE review_assignments (
    submission_id      INTEGER  PRIMARY KEY REFERENCES submissions(id),
    reviewer_id        INTEGER  NOT NULL REFERENCES users(id),
    assigned_at        INTEGER  NOT NULL,
    assigned_by        INTEGER  NOT NULL REFERENCES users(id)
);
CREATE INDEX review_assignments_reviewer ON review_assignments (reviewer_id);

-- Reasons reviewers pick from; the text goes to the creator in their language.
CREATE TABLE reason_templates (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    code               TEXT    NOT NULL UNIQUE,
    text_en            TEXT    NOT NULL,
    text_zh            TEXT    NOT NULL,
    applies_to         TEXT    NOT NULL,          -- accept | needs_changes | reject
    active             INTEGER  NOT NULL DEFAULT 1  -- 0 | 1
);

INSERT INTO reason_templates (code, text_en, text_zh, applies_to, active) VALUES
    ('welcome', 'Selected for the show. Thank you!', '已入选节目，感谢参与！', 'accept', 1),
    ('audio_clipping', 'The audio is clipping (distorted); please fix the levels and upload again.', '音频有削波失真，请调整电平后重新上传。', 'needs_changes', 1),
    ('picture_problems', 'The picture has problems (black, frozen or low-resolution stretches); please fix them and upload again.', '画面有问题（黑屏、冻结或分辨率过低），请修正后重新上传。', 'needs_changes', 1),
    ('loudness', 'The loudness is far from broadcast level; please fix it and upload again.', '响度与播出标准相差较大，请修正后重新上传。', 'needs_changes', 1),
    ('rights_unclear', 'The rights to some material are unclear; please add credits or proof and upload again.', '部分素材版权不明确，请补充署名或授权证明后重新上传。', 'needs_changes', 1),
    ('off_topic', 'The piece does not fit this show.', '作品与本期节目主题不符。', 'reject', 1),
    ('content_policy', 'The piece breaks our content policy.', '作品违反了内容规范。', 'reject', 1),
    ('rights_refused', 'We cannot show it: the rights are not cleared.', '版权未获授权，无法播出。', 'reject', 1);

-- What a job is about ("clip:42"), so the jobs of one clip, submission or show can be listed
-- without parsing payloads.
ALTER TABLE jobs ADD COLUMN subject TEXT;
CREATE INDEX jobs_subject ON jobs (subject);

-- The tus upload a clip came from: a finished upload is handed to ingest at most once, even
-- when the hand-off is offered again after a crash.
ALTER TABLE clips ADD COLUMN upload_id TEXT;
CREATE UNIQUE INDEX clips_upload_id ON clips (upload_id);

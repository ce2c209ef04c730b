//! The `render.show` job: what the dashboard's Render button queues. A worker renders the
//! show's current version into `data_dir/renders/show-<id>.mp4`, reporting progress, and the
//! job's result is the render's summary (shown on the show page).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::engine::Engine;
use crate::jobs::{Done, Handler, JobContext, JobError, JobFuture, NewJob};

pub const KIND: &str = "render.show";

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    show_id: i64,
}

/// The job that renders show `show_id` (subject `show:<id>`).
pub fn new_job(show_id: i64) -> NewJob {
    NewJob::new(KIND, json!({ "show_id": show_id })).with_subject(&subject(show_id))
}

pub fn subject(show_id: i64) -> String {
    format!("show:{show_id}")
}

/// Where the master of show `id` is written.
pub fn master_path(engine: &Engine, id: i64) -> std::path::PathBuf {
    engine
        .config
        .data_dir
        .join("renders")
        .join(format!("show-{id}.mp4"))
}

pub struct RenderHandler {
    pub engine: Engine,
}

impl Handler for RenderHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run(&self, ctx: JobContext) -> JobFuture<'_> {
        Box::pin(async move {
            let p: Payload = serde_json::from_value(ctx.job.payload.clone())
                .map_err(|e| JobError::Fatal(format!("bad payload: {e}")))?;
            let out = master_path(&self.engine, p.show_id);
            let c = ctx.clone();
            let progress = Arc::new(move |p: super::Progress| {
                let f = p.frames_done as f64 / p.frames_total.max(1) as f64;
                c.progress(
                    f,
                    Some(&format!("{} of {} frames", p.frames_done, p.frames_total)),
                );
            });
            let done = match super::show::render_show(&self.engine, p.show_id, &out, progress).await
            {
                Ok(d) => d,
                Err(e) if e.downcast_ref::<crate::show::StoreError>().is_some() => {
                    return Err(JobError::Fatal(format!("{e:#}")))
                }
                Err(e) => return Err(JobError::Retry(e)),
            };
            let r = &done.report;
            Ok(Done::new(json!({
                "path": out.display().to_string(),
                "version": done.version,
                "frames": r.frames,
                "fps": r.fps,
                "copied_frames": r.copied_frames,
                "encoded_frames": r.encoded_frames,
                "replaced": r.items.iter().filter(|i| i.replaced.is_some()).count(),
                "problems": done.problems.iter().map(|(id, p)| format!("item {id}: {p}")).collect::<Vec<_>>(),
                "loudness_lufs": r.loudness.integrated_lufs,
                "elapsed_s": r.elapsed_s,
            })))
        })
    }
}

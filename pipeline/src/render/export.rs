//! What goes next to the master: the rundown (CSV and JSON: item, kind, title, creator, start
//! timecode, duration, copied and encoded frames) and an OpenTimelineIO timeline (one video
//! track of clips with their source ranges).

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use super::{ms_to_frames, RenderPlan, RenderReport, Source};

/// One line of the rundown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RundownRow {
    /// Position in the running order, from 1.
    pub item: usize,
    pub id: u64,
    pub kind: String,
    pub title: String,
    pub creator: String,
    /// HH:MM:SS:FF from the start of the program.
    pub start: String,
    /// HH:MM:SS:FF.
    pub duration: String,
    pub frames: u64,
    pub copied_frames: u64,
    pub encoded_frames: u64,
    /// Why a slate replaced (part of) the item, when one did.
    pub replaced: String,
}

/// `frames` as HH:MM:SS:FF at `fps`.
pub fn timecode(frames: u64, fps: u32) -> String {
    let fps = u64::from(fps.max(1));
    let (ff, seconds) = (frames % fps, frames / fps);
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        ff
    )
}

/// The rundown of a finished render.
pub fn rundown(report: &RenderReport) -> Vec<RundownRow> {
    report
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| RundownRow {
            item: i + 1,
            id: item.id,
            kind: item.kind.clone(),
            title: item.title.clone(),
            creator: item.creator.clone(),
            start: timecode(item.start_frame, report.fps),
            duration: timecode(item.frames, report.fps),
            frames: item.frames,
            copied_frames: item.copied_frames,
            encoded_frames: item.encoded_frames,
            replaced: item
                .replaced
                .as_ref()
                .map(|r| format!("from frame {}: {}", r.from_frame, r.reason))
                .unwrap_or_default(),
        })
        .collect()
}

/// The rundown as CSV with a header line (RFC 4180 quoting).
pub fn rundown_csv(rows: &[RundownRow]) -> String {
    let mut out = String::from(
        "item,id,kind,title,creator,start,duration,frames,copied_frames,encoded_frames,replaced\n",
    );
    for r in rows {
        let fields = [
            r.item.to_string(),
            r.id.to_string(),
            r.kind.clone(),
            r.title.clone(),
            r.creator.clone(),
            r.start.clone(),
            r.duration.clone(),
            r.frames.to_string(),
            r.copied_frames.to_string(),
            r.encoded_frames.to_string(),
            r.replaced.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// An OpenTimelineIO timeline (`.otio` JSON) of the program: one video track, one clip per
/// item with its source range; slates have a missing reference.
pub fn otio(name: &str, plan: &RenderPlan, report: &RenderReport) -> Value {
    let rate = f64::from(report.fps);
    let time =
        |value: u64| json!({"OTIO_SCHEMA": "RationalTime.1", "rate": rate, "value": value as f64});
    let clips: Vec<Value> = plan
        .items
        .iter()
        .zip(&report.items)
        .map(|(item, done)| {
            let (reference, start) = match &item.source {
                Source::Act { path, in_ms, .. } => {
                    (external(path), ms_to_frames(*in_ms, &plan.house))
                }
                Source::Segment(segment) => (external(&segment.path), 0),
                Source::Slate { .. } => (
                    json!({"OTIO_SCHEMA": "MissingReference.1", "metadata": {}, "name": "slate",
                           "available_range": null, "available_image_bounds": null}),
                    0,
                ),
            };
            json!({
                "OTIO_SCHEMA": "Clip.2",
                "metadata": {"gala": {
                    "item_id": item.id, "kind": item.kind, "creator": item.creator,
                    "copied_frames": done.copied_frames, "encoded_frames": done.encoded_frames,
                    "replaced": done.replaced.as_ref().map(|r| &r.reason),
                }},
                "name": item.title,
                "source_range": {"OTIO_SCHEMA": "TimeRange.1",
                                 "start_time": time(start), "duration": time(done.frames)},
                "effects": [],
                "markers": [],
                "enabled": true,
                "media_references": {"DEFAULT_MEDIA": reference},
                "active_media_reference_key": "DEFAULT_MEDIA",
            })
        })
        .collect();
    json!({
        "OTIO_SCHEMA": "Timeline.1",
        "metadata": {},
        "name": name,
        "global_start_time": time(0),
        "tracks": {
            "OTIO_SCHEMA": "Stack.1", "metadata": {}, "name": "tracks", "source_range": null,
            "effects": [], "markers": [], "enabled": true,
            "children": [{
                "OTIO_SCHEMA": "Track.1", "metadata": {}, "name": "Program", "source_range": null,
                "effects": [], "markers": [], "enabled": true, "kind": "Video",
                "children": clips,
            }],
        },
    })
}

fn external(path: &Path) -> Value {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    json!({"OTIO_SCHEMA": "ExternalReference.1", "metadata": {}, "name": "",
           "available_range": null, "available_image_bounds": null,
           "target_url": format!("file://{}", absolute.display())})
}

/// Writes `<stem>.rundown.csv`, `<stem>.rundown.json` and `<stem>.otio` next to `master`.
pub fn write_all(master: &Path, plan: &RenderPlan, report: &RenderReport) -> std::io::Result<()> {
    let rows = rundown(report);
    let stem = master.with_extension("");
    let name = stem
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let with = |ext: &str| {
        let mut p = stem.clone().into_os_string();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    std::fs::write(with(".rundown.csv"), rundown_csv(&rows))?;
    std::fs::write(
        with(".rundown.json"),
        serde_json::to_string_pretty(&rows).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        with(".otio"),
        serde_json::to_string_pretty(&otio(&name, plan, report)).map_err(std::io::Error::other)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes_count_frames() {
        assert_eq!(timecode(0, 25), "00:00:00:00");
        assert_eq!(timecode(25 * 3661 + 7, 25), "01:01:01:07");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("你好"), "你好");
    }
}

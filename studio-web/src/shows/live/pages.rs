//! The live page: monitor (swapped in every second by `assets/live.js`), the control and
//! "Go live" forms, the as-run CSV, and the files of the HLS preview.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gala_pipeline::live::asrun::{self, AsRun};
use gala_pipeline::live::{is_inserted, Command};
use gala_pipeline::show::back_time;
use gala_pipeline::show::model::{parse_utc, utc_clock};
use gala_pipeline::show::store;
use serde::Deserialize;

use super::{check_command, send, start, view, StartRequest};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::FormBody;
use crate::page::{render, Page};
use crate::shows::view::hms;
use crate::shows::{page_error, require_director};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    pub destinations: String,
    #[serde(default)]
    pub at: String,
}

pub(super) async fn start_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    FormBody(form): FormBody<StartForm>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let req = StartRequest {
        destinations: form.destinations.lines().map(str::to_string).collect(),
        at: Some(form.at),
    };
    match start(&state, &user, id, req).await {
        Ok(()) => Ok(Redirect::to(&format!("/shows/{id}/live")).into_response()),
        Err(WebError::BadRequest(m)) | Err(WebError::Conflict(m)) => {
            live_page_with(&state, page, id, Some(m)).await
        }
        Err(e) => Err(e),
    }
}

/// The as-run log as CSV.
pub(super) async fn as_run_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    store::get(&state.engine.db, id).await.map_err(page_error)?;
    let rows = asrun::log(&state.engine.db, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"show-{id}-as-run.csv\""),
            ),
        ],
        asrun::to_csv(&rows),
    )
        .into_response())
}

/// A file of the show's HLS preview (playlists, init segment, media segments), written by the
/// playout node into `data_dir/live/show-<id>/preview/`. Only plain file names are served.
pub(super) async fn preview_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let plain = !file.starts_with('.')
        && file.len() <= 64
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let kind = match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("mp4" | "m4s") => "video/mp4",
        _ => return Err(WebError::NotFound),
    };
    if !plain {
        return Err(WebError::NotFound);
    }
    let path = gala_pipeline::live::preview_dir(&state.engine.config.data_dir, id).join(&file);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| WebError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

/// A line of the plan beside what aired.
pub struct Row {
    pub item: i64,
    pub name: String,
    pub planned: String,
    pub length: String,
    pub aired_at: String,
    pub aired: String,
    pub late: String,
    pub replaced: String,
    pub note: String,
    pub on_air: bool,
}

pub struct DestinationRow {
    pub name: String,
    pub state: String,
    pub kbps: String,
    pub reconnects: u64,
    pub dropped: u64,
    pub error: String,
}

/// What the monitor shows, as text.
pub struct Monitor {
    state: String,
    silent: String,
    phase: String,
    on_air: String,
    on_air_time: String,
    next: String,
    time_to_next: String,
    over_under: String,
    pacing: String,
    destinations: Vec<DestinationRow>,
    rows: Vec<Row>,
    events: Vec<String>,
}

#[derive(Template)]
#[template(path = "shows/live_monitor.html")]
struct MonitorTpl {
    page: Page,
    id: i64,
    m: Monitor,
}

#[derive(Template)]
#[template(path = "shows/live.html")]
struct LiveTpl {
    page: Page,
    id: i64,
    title: String,
    m: Monitor,
    upcoming: Vec<(u64, String)>,
    message: Option<String>,
}

impl LiveTpl {
    /// The one-click commands: (command, label key).
    fn buttons(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("take_next", "live.take_next"),
            ("freeze", "live.freeze"),
            ("hold", "live.hold"),
            ("resume", "live.resume"),
        ]
    }
}

fn secs(s: f64) -> String {
    let sign = if s < 0.0 { "−" } else { "+" };
    format!("{sign}{:.1} s", s.abs())
}

async fn monitor(state: &AppState, id: i64) -> Result<(Monitor, Vec<(u64, String)>), WebError> {
    let show = store::get(&state.engine.db, id).await.map_err(page_error)?;
    let v = view(state, id).await?;
    let timing = back_time(&show.meta, &show.order);
    let start = parse_utc(&show.meta.starts_at).unwrap_or(0);
    let status = v.status.clone().unwrap_or_default();
    let on_air_id = status.on_air.as_ref().map(|o| o.item);
    let mut rows: Vec<Row> = Vec::new();
    let mut upcoming = Vec::new();
    let latest = |item: i64| v.as_run.iter().rev().find(|r| r.item_id == item);
    for (item, t) in show.order.items.iter().zip(&timing.items) {
        let aired = latest(item.id as i64);
        if aired.is_none() {
            upcoming.push((item.id, gala_pipeline::show::summary::item_name(item)));
        }
        rows.push(row(
            item.id as i64,
            gala_pipeline::show::summary::item_name(item),
            utc_clock(start + t.offset_ms)[11..19].to_string(),
            hms(t.duration_ms),
            aired,
            on_air_id == Some(item.id) && v.state == "on_air",
        ));
    }
    // Inserted slates and breaks are not in the running order: shown where they aired.
    for r in v.as_run.iter().filter(|r| is_inserted(r.item_id as u64)) {
        rows.push(row(
            0,
            format!("{} (inserted)", r.title),
            String::new(),
            hms(r.planned_ms),
            Some(r),
            false,
        ));
    }
    let on_air = status.on_air.as_ref();
    let m = Monitor {
        silent: v.silent_s.map(|s| format!("{s:.1} s")).unwrap_or_default(),
        state: v.state.clone(),
        phase: status.phase.clone(),
        on_air: on_air.map(|o| o.title.clone()).unwrap_or_default(),
        on_air_time: on_air
            .map(|o| {
                format!(
                    "{} / {}",
                    hms((o.elapsed_s * 1000.0) as i64),
                    hms((o.length_s * 1000.0) as i64)
                )
            })
            .unwrap_or_default(),
        next: status
            .next
            .as_ref()
            .map(|n| n.title.clone())
            .unwrap_or_default(),
        time_to_next: status
            .time_to_next_s
            .map(|s| hms((s * 1000.0) as i64))
            .unwrap_or_default(),
        over_under: secs(status.over_under_s),
        pacing: format!("{:.1} s / {:.1} s", status.media_s, status.wall_s),
        destinations: status
            .destinations
            .iter()
            .map(|d| DestinationRow {
                name: d.name.clone(),
                state: format!("{:?}", d.state).to_lowercase(),
                kbps: format!("{:.0}", d.kbps),
                reconnects: d.reconnects,
                dropped: d.dropped_frames,
                error: d.last_error.clone().unwrap_or_default(),
            })
            .collect(),
        rows,
        events: v
            .destination_events
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}: {}",
                    &utc_clock(e.at)[11..19],
                    e.destination,
                    e.event,
                    e.detail
                )
            })
            .collect(),
    };
    Ok((m, upcoming))
}

fn row(
    item: i64,
    name: String,
    planned: String,
    length: String,
    aired: Option<&AsRun>,
    on_air: bool,
) -> Row {
    Row {
        item,
        name,
        planned,
        length,
        aired_at: aired
            .map(|r| utc_clock(r.actual_start)[11..19].to_string())
            .unwrap_or_default(),
        aired: aired.and_then(|r| r.actual_ms).map(hms).unwrap_or_default(),
        late: aired
            .map(|r| secs((r.actual_start - r.planned_start) as f64 / 1000.0))
            .unwrap_or_default(),
        replaced: aired
            .and_then(|r| {
                r.replaced_by
                    .as_ref()
                    .map(|b| format!("{b}: {}", r.reason.clone().unwrap_or_default()))
            })
            .unwrap_or_default(),
        note: aired.and_then(|r| r.note.clone()).unwrap_or_default(),
        on_air,
    }
}

pub(super) async fn live_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    live_page_with(&state, page, id, None).await
}

async fn live_page_with(
    state: &AppState,
    page: Page,
    id: i64,
    message: Option<String>,
) -> Result<Response, WebError> {
    let show = store::get(&state.engine.db, id).await.map_err(page_error)?;
    let (m, upcoming) = monitor(state, id).await?;
    render(&LiveTpl {
        page,
        id,
        title: show.meta.title,
        m,
        upcoming,
        message,
    })
}

/// The monitor part of the page, which its script swaps in every second.
pub(super) async fn monitor_fragment(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let (m, _) = monitor(&state, id).await?;
    let tpl = MonitorTpl { page, id, m };
    Ok(Html(tpl.render().map_err(|e| WebError::Internal(e.into()))?).into_response())
}

/// The control buttons' form.
#[derive(Debug, Deserialize)]
pub struct CommandForm {
    pub command: String,
    #[serde(default)]
    pub item: String,
    #[serde(default)]
    pub seconds: String,
    #[serde(default)]
    pub text: String,
}

impl CommandForm {
    fn command(&self) -> Result<Command, WebError> {
        let seconds = || -> Result<i64, WebError> {
            let s: f64 = self
                .seconds
                .trim()
                .parse()
                .map_err(|_| WebError::BadRequest("give the length in seconds".into()))?;
            Ok((s * 1000.0).round() as i64)
        };
        Ok(match self.command.as_str() {
            "take_next" => Command::TakeNext,
            "freeze" => Command::Hold { freeze: true },
            "hold" => Command::Hold { freeze: false },
            "resume" => Command::Resume,
            "skip" => Command::Skip {
                item: self
                    .item
                    .trim()
                    .parse()
                    .map_err(|_| WebError::BadRequest("choose the item to skip".into()))?,
            },
            "insert_slate" | "insert_break" => Command::Insert {
                kind: if self.command == "insert_slate" {
                    "slate"
                } else {
                    "break"
                }
                .into(),
                text: if self.text.trim().is_empty() {
                    "We'll be right back".into()
                } else {
                    self.text.trim().chars().take(200).collect()
                },
                duration_ms: seconds()?,
            },
            "extend" => Command::Extend { ms: seconds()? },
            "end" => Command::End,
            other => {
                return Err(WebError::BadRequest(format!(
                    "no live command called {other}"
                )))
            }
        })
    }
}

pub(super) async fn command_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    FormBody(form): FormBody<CommandForm>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let sent = async {
        let command = form.command()?;
        check_command(&command)?;
        send(&state, &user, id, &command).await
    }
    .await;
    match sent {
        Ok(_) => Ok(Redirect::to(&format!("/shows/{id}/live")).into_response()),
        Err(WebError::BadRequest(m)) | Err(WebError::Conflict(m)) => {
            live_page_with(&state, page, id, Some(m)).await
        }
        Err(e) => Err(e),
    }
}

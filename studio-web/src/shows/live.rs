//! The show on air, for the director: the monitor (on air, next, time to next, over/under,
//! each destination's state and bitrate), live control (take next, hold, skip, insert a slate
//! or a break, extend, end) and the as-run log beside the plan, exportable as CSV. The
//! playout node (`gala live`) may run on another machine: commands go through the database
//! and the monitor reads the node's heartbeat.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gala_pipeline::live::asrun::{self, AsRun, DestinationEvent, Session};
use gala_pipeline::live::session::{go_live, GoLive};
use gala_pipeline::live::{is_inserted, Command, LiveStatus};
use gala_pipeline::show::back_time;
use gala_pipeline::show::model::{parse_utc, utc_clock};
use gala_pipeline::show::store;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::view::hms;
use super::{page_error, require_director};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{FormBody, JsonBody};
use crate::page::{render, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shows/{id}/live", get(live_api))
        .route("/api/shows/{id}/live/commands", post(command_api))
        .route("/api/shows/{id}/live/start", post(start_api))
        .route("/shows/{id}/live/start", post(start_page))
        .route("/shows/{id}/live", get(live_page))
        .route("/shows/{id}/live/monitor", get(monitor_fragment))
        .route("/shows/{id}/live/command", post(command_page))
        .route("/shows/{id}/as-run.csv", get(as_run_csv))
        .route("/shows/{id}/live/preview/{file}", get(preview_file))
}

#[derive(OpenApi)]
#[openapi(
    paths(live_api, command_api, start_api),
    components(schemas(LiveView, CommandAnswer, StartRequest)),
    tags((name = "live", description = "The show on air: monitor, live control, as-run log (directors)"))
)]
pub struct LiveApi;

/// The show on air as the monitor sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveView {
    /// The latest playout session of the show, if any.
    #[schema(value_type = Object)]
    pub session: Option<Session>,
    /// `on_air`, `silent` (on air but the node stopped beating), `ended`, `failed` or `off`.
    pub state: String,
    /// Seconds since the node's last heartbeat, while on air.
    pub silent_s: Option<f64>,
    /// What the node reported last.
    #[schema(value_type = Object)]
    pub status: Option<LiveStatus>,
    /// Every item aired, over all sessions, in airing order.
    #[schema(value_type = Vec<Object>)]
    pub as_run: Vec<AsRun>,
    #[schema(value_type = Vec<Object>)]
    pub destination_events: Vec<DestinationEvent>,
}

async fn view(state: &AppState, id: i64) -> Result<LiveView, WebError> {
    store::get(&state.engine.db, id).await.map_err(page_error)?;
    let db = &state.engine.db;
    let session = asrun::sessions(db, id).await?.into_iter().next();
    let silent_after = state.engine.config.live.takeover_after_ms as i64;
    let now = gala_pipeline::now_ms();
    let (live_state, silent_s) = match &session {
        None => ("off".to_string(), None),
        Some(s) if s.state == "on_air" => {
            let age = now - s.heartbeat_at;
            let st = if age > silent_after {
                "silent"
            } else {
                "on_air"
            };
            (st.to_string(), Some(age as f64 / 1000.0))
        }
        Some(s) => (s.state.clone(), None),
    };
    let status = session
        .as_ref()
        .and_then(|s| serde_json::from_value::<LiveStatus>(s.status.clone()).ok());
    Ok(LiveView {
        state: live_state,
        silent_s,
        status,
        as_run: asrun::log(db, id).await?,
        destination_events: asrun::destination_events(db, id).await?,
        session,
    })
}

/// The show's playout: session, the node's last status, the as-run log and destination events.
#[utoipa::path(get, path = "/api/shows/{id}/live", tag = "live", params(("id" = i64, Path)),
    responses((status = 200, body = LiveView), (status = 403), (status = 404)))]
async fn live_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(Json(view(&state, id).await?).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommandAnswer {
    pub command_id: i64,
    pub session_id: i64,
}

/// Sends a live command to the node on air: `{"command": "take_next"}`, `{"command": "hold",
/// "freeze": true}`, `{"command": "resume"}`, `{"command": "skip", "item": 7}`,
/// `{"command": "insert", "kind": "slate", "text": "…", "duration_ms": 10000}`,
/// `{"command": "extend", "ms": 30000}`, `{"command": "end"}`. 409 when the show is not on air.
#[utoipa::path(post, path = "/api/shows/{id}/live/commands", tag = "live", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 202, body = CommandAnswer), (status = 409), (status = 422), (status = 403)))]
async fn command_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(command): JsonBody<Command>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    check_command(&command)?;
    let (session, command_id) = send(&state, &user, id, &command).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CommandAnswer {
            command_id,
            session_id: session,
        }),
    )
        .into_response())
}

fn check_command(c: &Command) -> Result<(), WebError> {
    let bad = |m: &str| Err(WebError::BadRequest(m.into()));
    match c {
        Command::Insert {
            duration_ms, kind, ..
        } => {
            if !(1000..=3_600_000).contains(duration_ms) {
                return bad("an inserted item lasts from 1 s to 1 h");
            }
            if kind != "slate" && kind != "break" {
                return bad("only a slate or a break can be inserted");
            }
        }
        Command::Extend { ms } if !(1..=3_600_000).contains(ms) => {
            return bad("an item can be extended by 1 ms to 1 h");
        }
        Command::Reorder { .. } => return bad("not a command"),
        _ => {}
    }
    Ok(())
}

async fn send(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    command: &Command,
) -> Result<(i64, i64), WebError> {
    let v = view(state, id).await?;
    let session = match (&v.session, v.state.as_str()) {
        (Some(s), "on_air") => s.id,
        (Some(_), "silent") => return Err(WebError::Conflict(
            "the playout node is silent: a standby may be taking over; try again in a few seconds"
                .into(),
        )),
        _ => return Err(WebError::Conflict("the show is not on air".into())),
    };
    let command_id = asrun::send_command(&state.engine.db, session, command, Some(user.id)).await?;
    tracing::info!(
        show = id,
        session,
        ?command,
        user = user.id,
        "live command sent"
    );
    Ok((session, command_id))
}

/// What "Go live" asks for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRequest {
    /// RTMP addresses (`rtmp://` or `rtmps://`), at most 8; none plays the preview only (a
    /// rehearsal).
    #[serde(default)]
    pub destinations: Vec<String>,
    /// Start the first item at this UTC time (`YYYY-MM-DDTHH:MM[:SS]`); a countdown airs
    /// until then. Default: at once.
    #[serde(default)]
    pub at: Option<String>,
}

/// The most destinations one show may have.
const MAX_DESTINATIONS: usize = 8;

/// Puts the show on air from this studio server (the playout runs in this process until the
/// running order ends or a director ends it). A dedicated `gala live` node is the production
/// setup; this is the embedded one.
async fn start(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    req: StartRequest,
) -> Result<(), WebError> {
    store::get(&state.engine.db, id).await.map_err(page_error)?;
    let destinations: Vec<String> = req
        .destinations
        .iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if destinations.len() > MAX_DESTINATIONS {
        return Err(WebError::BadRequest(format!(
            "at most {MAX_DESTINATIONS} destinations"
        )));
    }
    for d in &destinations {
        let ok = (d.starts_with("rtmp://") || d.starts_with("rtmps://"))
            && d.len() <= 500
            && !d.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(WebError::BadRequest(format!(
                "not an RTMP address (rtmp://host/app/key): {}",
                gala_pipeline::live::output::public_name(d)
            )));
        }
    }
    let start_at = match req.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(
            parse_utc(t)
                .map(|ms| {
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64)
                })
                .ok_or_else(|| {
                    WebError::BadRequest(format!("`{t}` is not a time like 2027-02-05T20:00 (UTC)"))
                })?,
        ),
    };
    let v = view(state, id).await?;
    if v.state == "on_air" || v.state == "silent" {
        return Err(WebError::Conflict("the show is already on air".into()));
    }
    if !state
        .live_starting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id)
    {
        return Err(WebError::Conflict("the show is going on air".into()));
    }
    let (engine, starting) = (state.engine.clone(), state.live_starting.clone());
    let opts = GoLive {
        show_id: id,
        destinations,
        start_at,
        node: format!("studio:{}", std::process::id()),
    };
    tracing::info!(show = id, user = user.id, "going live from the studio");
    tokio::spawn(async move {
        let done = go_live(&engine, opts, std::future::pending()).await;
        starting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        match done {
            Ok(o) => tracing::info!(show = id, session = o.session, reason = %o.reason, "off air"),
            Err(e) => {
                tracing::error!(show = id, error = %e, "the show could not go on (or stay) on air")
            }
        }
    });
    // The session row exists once the show is resolved (cards rendered): until then the
    // monitor says "off", and this server refuses a second start.
    Ok(())
}

/// Puts the show on air (see `StartRequest`); 409 when it is already on air.
#[utoipa::path(post, path = "/api/shows/{id}/live/start", tag = "live", params(("id" = i64, Path)),
    request_body = StartRequest,
    responses((status = 202), (status = 400), (status = 409), (status = 403)))]
async fn start_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<StartRequest>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    start(&state, &user, id, req).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    pub destinations: String,
    #[serde(default)]
    pub at: String,
}

async fn start_page(
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
async fn as_run_csv(
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
async fn preview_file(
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

async fn live_page(
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
async fn monitor_fragment(
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

async fn command_page(
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

//! The show on air, for the director: the monitor (on air, next, time to next, over/under,
//! each destination's state and bitrate), live control (take next, hold, skip, insert a slate
//! or a break, extend, end) and the as-run log beside the plan, exportable as CSV. The
//! playout node (`gala live`) may run on another machine: commands go through the database
//! and the monitor reads the node's heartbeat.
//!
//! - `api`: the JSON API (`/api/shows/{id}/live…`, in the OpenAPI document).
//! - `pages`: the live page, its monitor fragment, the control and "Go live" forms, the
//!   as-run CSV and the HLS preview's files.

mod api;
mod pages;

use axum::routing::{get, post};
use axum::Router;
use gala_pipeline::live::asrun::{self, AsRun, DestinationEvent, Session};
use gala_pipeline::live::session::{go_live, GoLive};
use gala_pipeline::live::{Command, LiveStatus};
use gala_pipeline::show::model::parse_utc;
use gala_pipeline::show::store;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::page_error;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shows/{id}/live", get(api::live_api))
        .route("/api/shows/{id}/live/commands", post(api::command_api))
        .route("/api/shows/{id}/live/start", post(api::start_api))
        .route("/shows/{id}/live/start", post(pages::start_page))
        .route("/shows/{id}/live", get(pages::live_page))
        .route("/shows/{id}/live/monitor", get(pages::monitor_fragment))
        .route("/shows/{id}/live/command", post(pages::command_page))
        .route("/shows/{id}/as-run.csv", get(pages::as_run_csv))
        .route("/shows/{id}/live/preview/{file}", get(pages::preview_file))
}

#[derive(OpenApi)]
#[openapi(
    paths(api::live_api, api::command_api, api::start_api),
    components(schemas(LiveView, api::CommandAnswer, StartRequest)),
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

//! The as-run log and the live sessions in the database: for every item that went on air its
//! planned and actual start, how long it aired, what replaced it and why; every drop and
//! return of a destination; and each playout run's heartbeat and status, which a standby
//! watches to take over.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::playout::{Event, LiveStatus};
use super::Command;
use crate::now_ms;
use crate::show::model::utc_clock;
use crate::storage::db::Db;

/// One playout run of a show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: i64,
    pub show_id: i64,
    pub show_version: i64,
    pub node: String,
    pub took_over_from: Option<i64>,
    pub state: String,
    pub destinations: Vec<String>,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub status: serde_json::Value,
}

/// One line of the as-run log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsRun {
    pub session_id: i64,
    pub item_id: i64,
    pub kind: String,
    pub title: String,
    pub planned_start: i64,
    pub planned_ms: i64,
    pub actual_start: i64,
    pub actual_ms: Option<i64>,
    pub replaced_by: Option<String>,
    pub replaced_from_ms: Option<i64>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// A drop or return of a destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DestinationEvent {
    pub session_id: i64,
    pub destination: String,
    pub event: String,
    pub at: i64,
    pub detail: String,
    pub outage_ms: Option<i64>,
}

/// Opens a session: the show is on air from this node.
pub async fn start_session(
    db: &Db,
    show_id: i64,
    show_version: i64,
    node: &str,
    destinations: &[String],
    took_over_from: Option<i64>,
) -> anyhow::Result<i64> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO live_sessions (show_id, show_version, node, took_over_from, state,
             destinations, started_at, heartbeat_at, status)
         VALUES ($1, $2, $3, $4, 'on_air', $5, $6, $6, '{}') RETURNING id",
    )
    .bind(show_id)
    .bind(show_version)
    .bind(node)
    .bind(took_over_from)
    .bind(serde_json::to_string(destinations)?)
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok(id)
}

/// The heartbeat: the session is alive, and this is what it shows.
pub async fn heartbeat(db: &Db, session: i64, status: &LiveStatus) -> anyhow::Result<()> {
    sqlx::query("UPDATE live_sessions SET heartbeat_at = $1, status = $2 WHERE id = $3")
        .bind(now_ms())
        .bind(serde_json::to_string(status)?)
        .bind(session)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Closes a session (`ended`, or `failed` with the reason).
pub async fn end_session(db: &Db, session: i64, state: &str, reason: &str) -> anyhow::Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE live_sessions SET state = $1, end_reason = $2, ended_at = $3, heartbeat_at = $3
         WHERE id = $4",
    )
    .bind(state)
    .bind(reason)
    .bind(now)
    .bind(session)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Stores one event of the playout loop.
pub async fn record(db: &Db, session: i64, show_id: i64, event: &Event) -> anyhow::Result<()> {
    match event {
        Event::ItemStarted {
            item,
            kind,
            title,
            planned_start_ms,
            planned_ms,
            at_ms,
            note,
        } => {
            sqlx::query(
                "INSERT INTO as_run (session_id, show_id, item_id, kind, title, planned_start,
                     planned_ms, actual_start, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(session)
            .bind(show_id)
            .bind(*item as i64)
            .bind(kind)
            .bind(title)
            .bind(planned_start_ms)
            .bind(planned_ms)
            .bind(at_ms)
            .bind(note.as_deref())
            .execute(&db.pool)
            .await?;
        }
        Event::ItemEnded {
            item,
            aired_ms,
            replaced,
            note,
            ..
        } => {
            let (by, from, why) = match replaced {
                Some(r) => (
                    Some(r.by.as_str()),
                    Some(r.from_ms),
                    Some(r.reason.as_str()),
                ),
                None => (None, None, None),
            };
            // The open row of this item in this session (an item airs once per session).
            sqlx::query(
                "UPDATE as_run SET actual_ms = $1, replaced_by = $2, replaced_from_ms = $3,
                     reason = $4, note = COALESCE($5, note)
                 WHERE id = (SELECT MAX(id) FROM as_run
                             WHERE session_id = $6 AND item_id = $7 AND actual_ms IS NULL)",
            )
            .bind(aired_ms)
            .bind(by)
            .bind(from)
            .bind(why)
            .bind(note.as_deref())
            .bind(session)
            .bind(*item as i64)
            .execute(&db.pool)
            .await?;
        }
        Event::DestinationDropped { name, at_ms, error } => {
            destination_event(db, session, name, "dropped", *at_ms, error, None).await?;
        }
        Event::DestinationBack {
            name,
            at_ms,
            outage_ms,
        } => {
            let detail = format!("back after {:.1} s", *outage_ms as f64 / 1000.0);
            destination_event(db, session, name, "back", *at_ms, &detail, Some(*outage_ms)).await?;
        }
        Event::ProgramStarted { .. } | Event::ProgramEnded { .. } => {}
    }
    Ok(())
}

async fn destination_event(
    db: &Db,
    session: i64,
    name: &str,
    event: &str,
    at: i64,
    detail: &str,
    outage_ms: Option<i64>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO live_destination_events (session_id, destination, event, at, detail, outage_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(session)
    .bind(name)
    .bind(event)
    .bind(at)
    .bind(detail)
    .bind(outage_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

fn session_row(row: &AnyRow) -> anyhow::Result<Session> {
    let destinations: String = row.try_get("destinations")?;
    let status: String = row.try_get("status")?;
    Ok(Session {
        id: row.try_get("id")?,
        show_id: row.try_get("show_id")?,
        show_version: row.try_get("show_version")?,
        node: row.try_get("node")?,
        took_over_from: row.try_get("took_over_from")?,
        state: row.try_get("state")?,
        destinations: serde_json::from_str(&destinations)?,
        started_at: row.try_get("started_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
        status: serde_json::from_str(&status).unwrap_or(serde_json::Value::Null),
    })
}

const SESSION_COLUMNS: &str = "id, show_id, show_version, node, took_over_from, state, \
    destinations, started_at, heartbeat_at, ended_at, end_reason, status";

/// The sessions of a show, newest first.
pub async fn sessions(db: &Db, show_id: i64) -> anyhow::Result<Vec<Session>> {
    let rows = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM live_sessions WHERE show_id = $1 ORDER BY id DESC"
    ))
    .bind(show_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(session_row).collect()
}

pub async fn session(db: &Db, id: i64) -> anyhow::Result<Option<Session>> {
    let row = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM live_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(session_row).transpose()
}

/// The show's as-run log over all its sessions, in airing order.
pub async fn log(db: &Db, show_id: i64) -> anyhow::Result<Vec<AsRun>> {
    let rows = sqlx::query(
        "SELECT session_id, item_id, kind, title, planned_start, planned_ms, actual_start,
                actual_ms, replaced_by, replaced_from_ms, reason, note
         FROM as_run WHERE show_id = $1 ORDER BY actual_start, id",
    )
    .bind(show_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AsRun {
                session_id: r.try_get("session_id")?,
                item_id: r.try_get("item_id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                planned_start: r.try_get("planned_start")?,
                planned_ms: r.try_get("planned_ms")?,
                actual_start: r.try_get("actual_start")?,
                actual_ms: r.try_get("actual_ms")?,
                replaced_by: r.try_get("replaced_by")?,
                replaced_from_ms: r.try_get("replaced_from_ms")?,
                reason: r.try_get("reason")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

/// The drops and returns of the show's destinations, in order.
pub async fn destination_events(db: &Db, show_id: i64) -> anyhow::Result<Vec<DestinationEvent>> {
    let rows = sqlx::query(
        "SELECT e.session_id, e.destination, e.event, e.at, e.detail, e.outage_ms
         FROM live_destination_events e JOIN live_sessions s ON s.id = e.session_id
         WHERE s.show_id = $1 ORDER BY e.at, e.id",
    )
    .bind(show_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DestinationEvent {
                session_id: r.try_get("session_id")?,
                destination: r.try_get("destination")?,
                event: r.try_get("event")?,
                at: r.try_get("at")?,
                detail: r.try_get("detail")?,
                outage_ms: r.try_get("outage_ms")?,
            })
        })
        .collect()
}

/// The as-run log as CSV (times as UTC clock times with milliseconds, lengths in seconds).
pub fn to_csv(rows: &[AsRun]) -> String {
    let mut out = String::from(
        "session,item,kind,title,planned_start,actual_start,late_s,planned_s,aired_s,replaced_by,replaced_from_s,reason,note\n",
    );
    for r in rows {
        let fields = [
            r.session_id.to_string(),
            r.item_id.to_string(),
            r.kind.clone(),
            r.title.clone(),
            utc_clock(r.planned_start),
            utc_clock(r.actual_start),
            format!("{:.3}", (r.actual_start - r.planned_start) as f64 / 1000.0),
            format!("{:.3}", r.planned_ms as f64 / 1000.0),
            r.actual_ms
                .map(|ms| format!("{:.3}", ms as f64 / 1000.0))
                .unwrap_or_default(),
            r.replaced_by.clone().unwrap_or_default(),
            r.replaced_from_ms
                .map(|ms| format!("{:.3}", ms as f64 / 1000.0))
                .unwrap_or_default(),
            r.reason.clone().unwrap_or_default(),
            r.note.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// Queues a live command for the session's node.
pub async fn send_command(
    db: &Db,
    session: i64,
    command: &Command,
    author: Option<i64>,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO live_commands (session_id, command, author_id, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(session)
    .bind(serde_json::to_string(command)?)
    .bind(author)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?;
    Ok(id)
}

/// Takes the session's commands not yet taken, oldest first (each is taken once).
pub async fn take_commands(db: &Db, session: i64) -> anyhow::Result<Vec<Command>> {
    let rows = sqlx::query(
        "SELECT id, command FROM live_commands WHERE session_id = $1 AND taken_at IS NULL
         ORDER BY id",
    )
    .bind(session)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let taken = sqlx::query(
            "UPDATE live_commands SET taken_at = $1 WHERE id = $2 AND taken_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            let text: String = r.try_get("command")?;
            match serde_json::from_str(&text) {
                Ok(c) => out.push(c),
                Err(e) => tracing::warn!(id, error = %e, "a live command that cannot be read"),
            }
        }
    }
    Ok(out)
}

/// Claims a session whose heartbeat is older than `stale_before` for a standby: marks it
/// failed and closes its open as-run line at its last heartbeat. True when this caller won.
pub async fn claim_stale(
    db: &Db,
    session: i64,
    stale_before: i64,
    by_node: &str,
) -> anyhow::Result<bool> {
    let claimed = sqlx::query(
        "UPDATE live_sessions SET state = 'failed', ended_at = heartbeat_at,
             end_reason = $1
         WHERE id = $2 AND state = 'on_air' AND heartbeat_at < $3",
    )
    .bind(format!("the heartbeat stopped; {by_node} took over"))
    .bind(session)
    .bind(stale_before)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        sqlx::query(
            "UPDATE as_run SET actual_ms = (SELECT heartbeat_at FROM live_sessions WHERE id = $1)
                 - actual_start,
                 note = 'cut off: the playout node stopped'
             WHERE session_id = $1 AND actual_ms IS NULL",
        )
        .bind(session)
        .execute(&db.pool)
        .await?;
    }
    Ok(claimed)
}

/// The open line of a session: the item on air when it last wrote, and when it started.
pub async fn on_air(db: &Db, session: i64) -> anyhow::Result<Option<AsRun>> {
    let rows = sqlx::query("SELECT show_id FROM as_run WHERE session_id = $1 LIMIT 1")
        .bind(session)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = rows else { return Ok(None) };
    let show_id: i64 = row.try_get("show_id")?;
    Ok(log(db, show_id)
        .await?
        .into_iter()
        .filter(|r| r.session_id == session)
        .max_by_key(|r| r.actual_start))
}

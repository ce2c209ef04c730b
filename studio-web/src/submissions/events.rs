//! `GET /submissions/events`: server-sent events for the logged-in creator. The server polls
//! the database every second and sends an `status` event (JSON) only when one of the user's
//! submissions changes its processing state, reason or selection; keep-alive comments between.
//! A first `hello` event says the baseline is taken; the current state of every submission
//! follows at once, so a change between the page's rendering and the stream's start is not
//! lost (nor one missed while a dropped stream reconnects).

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;

use super::repo::{self, Processing, Selection, Submission};
use crate::auth::CurrentUser;
use crate::i18n::{Lang, Tr};
use crate::state::AppState;

const POLL: Duration = Duration::from_secs(1);

/// One change, as the pages' script reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusEvent {
    pub id: i64,
    pub processing: Processing,
    /// The processing state's label in the page's language.
    pub processing_label: String,
    pub processing_reason: Option<String>,
    pub selection: Selection,
    pub selection_label: String,
}

type Seen = HashMap<i64, (Processing, Option<String>, Selection)>;

fn key(s: &Submission) -> (Processing, Option<String>, Selection) {
    (s.processing, s.processing_reason.clone(), s.selection)
}

pub async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let tr = Tr::new(state.i18n.clone(), Lang::from_headers(&headers));
    let start = (state, user.id, tr, None::<Seen>);
    let events = stream::unfold(start, |(state, owner, tr, seen)| async move {
        let (events, seen) = poll(&state, owner, &tr, seen).await;
        Some((stream::iter(events), (state, owner, tr, Some(seen))))
    })
    .flatten()
    .map(Ok);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One round: waits (except the first time), reads the user's submissions, and returns the
/// events for what changed since `seen`.
async fn poll(state: &AppState, owner: i64, tr: &Tr, seen: Option<Seen>) -> (Vec<Event>, Seen) {
    let Some(seen) = seen else {
        let subs = repo::list_by_owner(&state.engine.db, owner)
            .await
            .unwrap_or_default();
        let mut events = vec![Event::default().event("hello").data("{}")];
        events.extend(subs.iter().filter_map(|s| event_of(s, tr)));
        return (events, subs.iter().map(|s| (s.id, key(s))).collect());
    };
    tokio::time::sleep(POLL).await;
    let subs = match repo::list_by_owner(&state.engine.db, owner).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "status events: reading submissions"
            );
            return (Vec::new(), seen);
        }
    };
    let mut events = Vec::new();
    let mut now = Seen::new();
    for s in &subs {
        let k = key(s);
        if seen.get(&s.id) != Some(&k) {
            events.extend(event_of(s, tr));
        }
        now.insert(s.id, k);
    }
    (events, now)
}

fn event_of(s: &Submission, tr: &Tr) -> Option<Event> {
    let data = StatusEvent {
        id: s.id,
        processing: s.processing,
        processing_label: tr
            .get(&format!("processing.{}", s.processing.as_str()))
            .to_string(),
        processing_reason: s.processing_reason.clone(),
        selection: s.selection,
        selection_label: tr
            .get(&format!("selection.{}", s.selection.as_str()))
            .to_string(),
    };
    Event::default().event("status").json_data(data).ok()
}

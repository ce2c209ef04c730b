//! `gala live` from the command line against a real RTMP server: a stored show goes on air,
//! its as-run log is written; a second active node is refused; the active node is killed
//! and a standby sharing the database takes over at the right point of the running order.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::rtmp::{continuity, packets, RtmpServer};
use common::{text, wait_for, Sandbox};
use gala_pipeline::live::asrun;
use gala_pipeline::show::model::{Act, Edit, HostCard, Item, ItemKind, RunningOrder, ShowMeta};
use gala_pipeline::show::store;
use gala_pipeline::storage::db::Db;

const LIVE: &str = "live:\n  heartbeat_ms: 250\n  takeover_after_ms: 1500\n  reconnect_min_ms: 200\n  reconnect_max_ms: 1000\n";

fn item(id: u64, kind: ItemKind) -> Item {
    Item {
        id,
        locked: false,
        kind,
    }
}

/// A show of about 22 s that needs no ingested clips: slates, a bumper, a spoken host card,
/// an act whose clip is gone (it airs as a slate) and a break.
async fn make_show(db: &Db) -> i64 {
    let items = vec![
        item(
            1,
            ItemKind::Slate {
                text: "Welcome to the Gala".into(),
                duration_ms: 3000,
            },
        ),
        item(
            2,
            ItemKind::Bumper {
                template: "bumper".into(),
                text: "GALA".into(),
                duration_ms: 3000,
            },
        ),
        item(
            3,
            ItemKind::HostCard(HostCard {
                line: "Next, a dancer from Chengdu.".into(),
                language: "en".into(),
                writer: "director".into(),
                clip_id: None,
                duration_ms: 3000,
            }),
        ),
        item(
            4,
            ItemKind::Act(Act {
                submission_id: 1,
                version_number: 1,
                clip_id: 999,
                title: "Lost act".into(),
                creator: "Nobody".into(),
                creator_id: 1,
                category: "dance".into(),
                clip_ms: 4000,
                in_ms: 0,
                out_ms: 4000,
            }),
        ),
        item(
            5,
            ItemKind::Break {
                label: "Intermission".into(),
                duration_ms: 4000,
            },
        ),
        item(
            6,
            ItemKind::Slate {
                text: "Good night — 晚安".into(),
                duration_ms: 5000,
            },
        ),
    ];
    let meta = ShowMeta {
        title: "Live test".into(),
        starts_at: "2026-11-29T20:00".into(),
        target_ms: 60_000,
        tolerance_ms: 30_000,
        house_format: "default".into(),
    };
    let order = RunningOrder { items, next_id: 7 };
    store::create(db, meta, order, None).await.unwrap().id
}

/// A sandbox with quick heartbeats and reconnects, and its database.
async fn live_sandbox() -> (Sandbox, Db) {
    let sb = Sandbox::new();
    let mut cfg = std::fs::read_to_string(sb.config_path()).unwrap();
    cfg.push_str(LIVE);
    std::fs::write(sb.config_path(), cfg).unwrap();
    std::fs::create_dir_all(sb.path("data")).unwrap();
    let db = Db::connect(&sb.db_url(), 2).await.unwrap();
    (sb, db)
}

fn live(sb: &Sandbox, show: i64, url: &str, extra: &[&str]) -> Child {
    sb.gala()
        .args(["live", &show.to_string(), "--to", url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_when_the_active_node_dies() {
    let (sb, db) = live_sandbox().await;
    let show = make_show(&db).await;
    let server = RtmpServer::start(&sb.path("rtmp"));
    let url = server.url("main");

    let mut active = live(&sb, show, &url, &["--node", "active"]);
    let session = wait_for(Duration::from_secs(60), "the show on air", || async {
        asrun::sessions(&db, show)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.state == "on_air")
    })
    .await;
    assert_eq!(session.node, "active");
    assert_eq!(
        session.destinations,
        vec![format!("rtmp://127.0.0.1:{}/live/…", server.port)]
    );

    // A second active node is refused while the first one beats.
    let second = sb
        .gala()
        .args(["live", &show.to_string(), "--to", &url])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        text(&second).contains("already on air"),
        "{}",
        text(&second)
    );

    let standby = live(&sb, show, &url, &["--standby", "--node", "standby"]);
    // Kill the active node in the middle of the host card (item 3, from 6 s).
    wait_for(Duration::from_secs(60), "item 3 on air", || async {
        let log = asrun::log(&db, show).await.unwrap();
        log.iter().any(|r| r.item_id == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    active.kill().unwrap(); // SIGKILL: no goodbye, the heartbeat just stops
    active.wait().unwrap();
    let killed_at = gala_pipeline::now_ms();

    let out = tokio::task::spawn_blocking(move || standby.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Took over from session"),
        "{}",
        text(&out)
    );

    let sessions = asrun::sessions(&db, show).await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    let (new, old) = (&sessions[0], &sessions[1]);
    assert_eq!(old.state, "failed");
    assert!(
        old.end_reason
            .as_deref()
            .unwrap_or("")
            .contains("standby took over"),
        "{old:?}"
    );
    assert_eq!(new.took_over_from, Some(old.id));
    assert_eq!(new.state, "ended");
    assert_eq!(new.end_reason.as_deref(), Some("the running order ended"));
    let takeover_ms = new.started_at - killed_at;
    println!("takeover: {takeover_ms} ms after the kill (heartbeat timeout 1500 ms)");
    assert!(takeover_ms < 10_000, "took {takeover_ms} ms");

    let log = asrun::log(&db, show).await.unwrap();
    for r in &log {
        println!("{r:?}");
    }
    // The active node's host card was cut off at its last heartbeat; the standby resumed it
    // part-way (by the clock), then played the rest of the running order.
    let cut = log
        .iter()
        .find(|r| r.session_id == old.id && r.item_id == 3)
        .unwrap();
    assert_eq!(
        cut.note.as_deref(),
        Some("cut off: the playout node stopped")
    );
    let resumed: Vec<&asrun::AsRun> = log.iter().filter(|r| r.session_id == new.id).collect();
    let first = resumed.first().expect("the standby aired items");
    assert!(
        first.item_id == 3 || first.item_id == 4,
        "resumed at the item on air by the clock: {first:?}"
    );
    assert!(
        first
            .note
            .as_deref()
            .unwrap_or("")
            .starts_with("resumed at")
            || first.item_id == 4
    );
    let ids: Vec<i64> = resumed.iter().map(|r| r.item_id).collect();
    assert_eq!(ids.last(), Some(&6), "{ids:?}");
    assert!(resumed.iter().all(|r| r.actual_ms.is_some()));
    // The standby keeps the original schedule: the items after the takeover air on time.
    let welcome = log.iter().find(|r| r.item_id == 1).unwrap();
    let finale = resumed.iter().find(|r| r.item_id == 6).unwrap();
    assert_eq!(
        finale.planned_start,
        welcome.planned_start + 17_000,
        "{finale:?}"
    );
    let late = finale.actual_start - finale.planned_start;
    println!("the finale aired {late} ms off its planned start after the takeover");
    assert!(late.abs() < 1500, "{finale:?}");
    // The lost act aired as a slate, with the reason.
    let lost = log.iter().find(|r| r.item_id == 4).unwrap();
    assert_eq!(lost.replaced_by.as_deref(), Some("slate"), "{lost:?}");
    assert!(
        lost.reason.as_deref().unwrap_or("").contains("999"),
        "{lost:?}"
    );
    let csv = asrun::to_csv(&log);
    assert!(csv.lines().count() == log.len() + 1, "{csv}");

    // The server got the active node's stream, then the standby's.
    let recs = server.recordings();
    assert_eq!(recs.len(), 2, "{recs:?}");
    for r in &recs {
        let c = continuity(&packets(r));
        assert_eq!(c.backwards, 0, "{c:?}");
        assert!(c.max_video_step <= 0.041, "{c:?}");
    }
}

fn slate(id: u64, text: &str, ms: i64) -> Item {
    item(
        id,
        ItemKind::Slate {
            text: text.into(),
            duration_ms: ms,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_during_the_show_changes_only_what_is_not_yet_on_air() {
    let (sb, db) = live_sandbox().await;
    let meta = ShowMeta {
        title: "Edited live".into(),
        starts_at: "2026-11-29T20:00".into(),
        target_ms: 60_000,
        tolerance_ms: 30_000,
        house_format: "default".into(),
    };
    let items = vec![
        slate(1, "One", 4000),
        slate(2, "Two", 3000),
        slate(3, "Three", 3000),
        slate(4, "Four", 2000),
    ];
    let show = store::create(&db, meta, RunningOrder { items, next_id: 5 }, None)
        .await
        .unwrap();
    let server = RtmpServer::start(&sb.path("rtmp"));
    let node = live(&sb, show.id, &server.url("main"), &[]);
    wait_for(Duration::from_secs(60), "item 1 on air", || async {
        let log = asrun::log(&db, show.id).await.unwrap();
        log.iter().any(|r| r.item_id == 1).then_some(())
    })
    .await;
    // While item 1 airs: shorten it (on air: not changed), drop item 3, add a slate at the end.
    let edits = [
        Edit::SetDuration {
            item: 1,
            duration_ms: 1000,
        },
        Edit::Remove { item: 3 },
        Edit::Insert {
            at: 3,
            kind: ItemKind::Slate {
                text: "Late addition".into(),
                duration_ms: 2000,
            },
            locked: false,
        },
    ];
    store::edit(&db, show.id, show.version, &edits, None)
        .await
        .unwrap();
    let out = tokio::task::spawn_blocking(move || node.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let log = asrun::log(&db, show.id).await.unwrap();
    let aired: Vec<(i64, Option<i64>)> = log.iter().map(|r| (r.item_id, r.actual_ms)).collect();
    assert_eq!(
        aired,
        vec![
            (1, Some(4000)),
            (2, Some(3000)),
            (4, Some(2000)),
            (5, Some(2000))
        ],
        "the item on air kept its length; item 3 dropped; item 5 added"
    );
}

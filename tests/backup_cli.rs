//! `gala admin backup` / `restore`, `rerun-failed` and `reingest` on real data: clips ingested
//! by `gala ingest`, backed up, restored into a new data directory (SQLite) and into a fresh
//! PostgreSQL database, every object checked by its digest; a failed job queued again; a
//! clip's ingest chain run again.

mod common;

use std::collections::BTreeSet;

use common::{text, KillOnDrop, Sandbox};
use gala_pipeline::jobs::{JobState, NewJob, Queue};
use gala_pipeline::storage::testing::TestDb;
use gala_pipeline::storage::{sha256_file, Db};
use serde_json::json;
use sqlx::Row;

/// The clips' media digests, as the database names them.
async fn digests(db: &Db) -> BTreeSet<String> {
    let rows = sqlx::query(
        "SELECT source_sha256 AS a, normalized_sha256 AS b, poster_sha256 AS c, proxy_sha256 AS d FROM clips",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.iter()
        .flat_map(|r| ["a", "b", "c", "d"].map(|c| r.try_get::<Option<String>, _>(c).unwrap()))
        .flatten()
        .collect()
}

fn ingest_two(sb: &Sandbox) {
    let a = sb.clip(
        "a.mp4",
        "testsrc2=size=320x240:rate=25,trim=duration=2",
        Some("sine=f=440:d=2"),
    );
    let b = sb.clip(
        "b.mp4",
        "smptebars=size=320x240:rate=25,trim=duration=2",
        Some("sine=f=660:d=2"),
    );
    let out = sb.gala().arg("ingest").arg(&a).arg(&b).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restores_into_a_new_sqlite_home_and_into_postgres() {
    let sb = Sandbox::new();
    ingest_two(&sb);
    let db = Db::connect(&sb.db_url(), 2).await.unwrap();
    let names = digests(&db).await;
    assert!(names.len() >= 8, "{names:?}");

    let backup = sb.path("backup");
    let out = sb
        .gala()
        .args(["admin", "backup"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("media object(s)"), "{}", text(&out));
    // A second backup into the same directory is refused: nothing is overwritten.
    let again = sb
        .gala()
        .args(["admin", "backup"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!again.status.success() && text(&again).contains("not empty"));

    // Into a new home: the same clips and every object back in the new store, intact.
    let home = Sandbox::new();
    let out = home
        .gala()
        .args(["admin", "restore"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let restored = Db::connect(&home.db_url(), 2).await.unwrap();
    assert_eq!(digests(&restored).await, names);
    for d in &names {
        let file = home.path(&format!("data/media/{}/{}/{d}", &d[0..2], &d[2..4]));
        assert_eq!(&sha256_file(&file).unwrap(), d);
    }
    // Restoring over a database that exists needs --replace.
    let out = home
        .gala()
        .args(["admin", "restore"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("--replace"),
        "{}",
        text(&out)
    );

    // A damaged object in the backup stops the restore, naming it.
    let victim = names.iter().next().unwrap();
    let file = backup.join(format!(
        "media/{}/{}/{victim}",
        &victim[0..2],
        &victim[2..4]
    ));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let out = home
        .gala()
        .args(["admin", "restore", "--replace"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("corrupt"),
        "{}",
        text(&out)
    );
    std::fs::write(&file, {
        bytes[0] ^= 1;
        bytes
    })
    .unwrap();

    // PostgreSQL: a backup of a PostgreSQL home restores into a fresh PostgreSQL database.
    let (Some(source), Some(target)) = (TestDb::postgres().await, TestDb::postgres().await) else {
        return;
    };
    let pg = Sandbox::new();
    let mut cfg = std::fs::read_to_string(pg.config_path()).unwrap();
    cfg.push_str(&format!("database:\n  url: {}\n", source.url));
    std::fs::write(pg.config_path(), &cfg).unwrap();
    ingest_two(&pg);
    let pg_names = digests(&source.db).await;
    let pg_backup = pg.path("pg-backup");
    let out = pg
        .gala()
        .args(["admin", "backup"])
        .arg(&pg_backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(pg_backup.join("gala.pgdump").exists());
    let cfg = cfg.replace(&source.url, &target.url);
    std::fs::write(pg.config_path(), &cfg).unwrap();
    let out = pg
        .gala()
        .args(["admin", "restore"])
        .arg(&pg_backup)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(digests(&target.db).await, pg_names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_run_again_and_a_clip_is_ingested_again() {
    let sb = Sandbox::new();
    ingest_two(&sb);
    let db = Db::connect(&sb.db_url(), 2).await.unwrap();
    let queue = Queue::new(db.clone(), Default::default());
    let id = queue
        .enqueue(NewJob::new("render.show", json!({ "show": 1 })))
        .await
        .unwrap();
    let claimed = queue.claim("w", &["render.show"]).await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert!(queue.fail(id, "w", "the font was missing").await.unwrap());

    let out = sb
        .gala()
        .args(["admin", "rerun-failed", "--kind", "ingest.probe"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("0 failed job(s) queued again"),
        "{}",
        text(&out)
    );
    let out = sb.gala().args(["admin", "rerun-failed"]).output().unwrap();
    assert!(
        out.status.success() && text(&out).contains("1 failed job(s) queued again"),
        "{}",
        text(&out)
    );
    let job = queue.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));

    let jobs_before = queue.list_by_subject("clip:1").await.unwrap().len();
    let out = sb
        .gala()
        .args(["admin", "reingest", "--clip", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let jobs = queue.list_by_subject("clip:1").await.unwrap();
    assert_eq!(jobs.len(), jobs_before + 1);
    assert_eq!(jobs.last().unwrap().kind, "ingest.probe");
    let state: String = sqlx::query("SELECT state FROM clips WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get("state");
    assert_eq!(state, "queued");
    // While its chain waits, a second re-ingest is refused; an unknown clip is an error.
    let out = sb
        .gala()
        .args(["admin", "reingest", "--clip", "1"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("being ingested"),
        "{}",
        text(&out)
    );
    let out = sb
        .gala()
        .args(["admin", "reingest", "--clip", "99"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("no clip 99"),
        "{}",
        text(&out)
    );
    // A worker runs the chain again to the end.
    let _worker = KillOnDrop(
        sb.gala()
            .args(["worker", "--concurrency", "1"])
            .spawn()
            .unwrap(),
    );
    common::wait_for(
        std::time::Duration::from_secs(120),
        "the clip ingested again",
        || async {
            let state: String = sqlx::query("SELECT state FROM clips WHERE id = 1")
                .fetch_one(&db.pool)
                .await
                .ok()?
                .get("state");
            (state == "ready").then_some(())
        },
    )
    .await;
}

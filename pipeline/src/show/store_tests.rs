//! The show store on SQLite and PostgreSQL: versions, conflicts, undo, history, diff.

use super::model::{Edit, ItemKind};
use super::model_tests::{card, meta, order};
use super::store::*;
use crate::storage::db::Db;

async fn created(db: &Db) -> ShowRecord {
    create(db, meta(), order(), None).await.unwrap()
}

async fn create_get_and_list(db: Db) {
    let s = created(&db).await;
    assert_eq!(s.version, 1);
    let got = get(&db, s.id).await.unwrap();
    assert_eq!((got.meta, got.order), (meta(), order()));
    let all = list(&db).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].items, all[0].total_ms), (5, 290_000));
    assert!(matches!(
        get(&db, s.id + 1).await,
        Err(StoreError::NotFound)
    ));
    let mut bad = meta();
    bad.title = " ".into();
    assert!(matches!(
        create(&db, bad, order(), None).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn edits_make_versions_and_refuse_stale_ones(db: Db) {
    let s = created(&db).await;
    let v2 = edit(&db, s.id, 1, &[Edit::Move { item: 1, to: 0 }], None)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    // A second director still on version 1: refused, nothing overwritten.
    let stale = edit(&db, s.id, 1, &[Edit::Remove { item: 4 }], None).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { current: 2 })),
        "{stale:?}"
    );
    assert_eq!(get(&db, s.id).await.unwrap().order, v2.order);
    // A batch is all or nothing.
    let half = edit(
        &db,
        s.id,
        2,
        &[Edit::Remove { item: 4 }, Edit::Remove { item: 2 }],
        None,
    )
    .await;
    assert!(matches!(half, Err(StoreError::Invalid(_))));
    assert_eq!(get(&db, s.id).await.unwrap().version, 2);
    let mut m = meta();
    m.title = "Gala Night".into();
    let v3 = edit(&db, s.id, 2, &[Edit::SetMeta { meta: m.clone() }], None)
        .await
        .unwrap();
    assert_eq!(v3.meta, m);
    assert_eq!(get_version(&db, s.id, 1).await.unwrap().order, order());
}

async fn concurrent_edits_one_wins(db: Db) {
    let s = created(&db).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let e = Edit::SetHostLine {
                item: 1,
                line: format!("line {i}"),
                writer: "director".into(),
                duration_ms: 5_000,
            };
            edit(&db, s.id, 1, &[e], None).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                won += 1;
                assert_eq!(r.version, 2);
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the concurrent edits is saved");
    assert_eq!(history(&db, s.id).await.unwrap().len(), 2);
}

async fn undo_walks_back_linearly(db: Db) {
    let s = created(&db).await;
    let line = |t: &str| Edit::SetHostLine {
        item: 1,
        line: t.into(),
        writer: "director".into(),
        duration_ms: 5_000,
    };
    edit(&db, s.id, 1, &[line("A")], None).await.unwrap(); // v2
    edit(&db, s.id, 2, &[line("B")], None).await.unwrap(); // v3
    let text = |r: &ShowRecord| match &r.order.get(1).unwrap().kind {
        ItemKind::HostCard(c) => c.line.clone(),
        _ => unreachable!(),
    };
    let u = undo(&db, s.id, 3, None).await.unwrap(); // v4 = v2
    assert_eq!(text(&u), "A");
    let u = undo(&db, s.id, 4, None).await.unwrap(); // v5 = v1
    assert_eq!(u.order, order());
    assert!(
        matches!(undo(&db, s.id, 5, None).await, Err(StoreError::Invalid(_))),
        "nothing left to undo"
    );
    edit(&db, s.id, 5, &[line("C")], None).await.unwrap(); // v6
    let u = undo(&db, s.id, 6, None).await.unwrap(); // v7 = v5 = v1
    assert_eq!(u.order, order());
    assert!(matches!(
        undo(&db, s.id, 6, None).await,
        Err(StoreError::Conflict { current: 7 })
    ));
    let h = history(&db, s.id).await.unwrap();
    assert_eq!(
        h.iter().map(|v| v.version).collect::<Vec<_>>(),
        [7, 6, 5, 4, 3, 2, 1]
    );
    assert!(
        h[0].summary.starts_with("Undid: Rewrote the line"),
        "{}",
        h[0].summary
    );
    assert_eq!(h[6].summary, "Created the show");
}

async fn diff_between_versions(db: Db) {
    let s = created(&db).await;
    edit(
        &db,
        s.id,
        1,
        &[Edit::Insert {
            at: 5,
            kind: card("Goodnight", 4_000),
            locked: false,
        }],
        None,
    )
    .await
    .unwrap();
    let changes = diff_versions(&db, s.id, 1, 2).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        change_in_words(&changes[0]),
        "added host card “Goodnight” at 6"
    );
    assert!(diff_versions(&db, s.id, 1, 9).await.is_err());
}

crate::both_backends!(
    create_get_and_list,
    edits_make_versions_and_refuse_stale_ones,
    concurrent_edits_one_wins,
    undo_walks_back_linearly,
    diff_between_versions,
);

//! The running order's edits, back-timing and diff, without a database.

use super::diff::{diff, Change};
use super::model::*;

pub(crate) fn act(sub: i64, title: &str, creator: i64, ms: i64) -> ItemKind {
    ItemKind::Act(Act {
        submission_id: sub,
        version_number: 1,
        clip_id: sub * 10,
        title: title.into(),
        creator: format!("creator {creator}"),
        creator_id: creator,
        category: "music".into(),
        clip_ms: ms,
        in_ms: 0,
        out_ms: ms,
    })
}

pub(crate) fn card(line: &str, ms: i64) -> ItemKind {
    ItemKind::HostCard(HostCard {
        line: line.into(),
        language: "en".into(),
        writer: "deterministic".into(),
        clip_id: None,
        duration_ms: ms,
    })
}

pub(crate) fn meta() -> ShowMeta {
    ShowMeta {
        title: "Spring Gala".into(),
        starts_at: "2027-02-05T20:00".into(),
        target_ms: 600_000,
        tolerance_ms: 10_000,
        house_format: "default".into(),
    }
}

/// a(60 s) card(10 s) b(120 s, locked) card(10 s) c(90 s)
pub(crate) fn order() -> RunningOrder {
    RunningOrder::new(vec![
        (act(1, "Alpha", 1, 60_000), false),
        (card("Next, Beta.", 10_000), false),
        (act(2, "Beta", 2, 120_000), true),
        (card("And now Gamma.", 10_000), false),
        (act(3, "Gamma", 3, 90_000), false),
    ])
}

fn ids(o: &RunningOrder) -> Vec<ItemId> {
    o.items.iter().map(|i| i.id).collect()
}

#[test]
fn moves_keep_locked_items_in_place() {
    let mut o = order();
    o.apply(&Edit::Move { item: 4, to: 3 }).unwrap();
    assert_eq!(ids(&o), [0, 1, 2, 4, 3]);
    // Moving 0 to the end would shift the locked item at index 2.
    let before = o.clone();
    assert_eq!(
        o.apply(&Edit::Move { item: 0, to: 4 }),
        Err(EditError::Locked(2))
    );
    assert_eq!(o, before, "a refused edit changes nothing");
    assert_eq!(
        o.apply(&Edit::Move { item: 2, to: 0 }),
        Err(EditError::Locked(2))
    );
    assert!(matches!(
        o.apply(&Edit::Move { item: 9, to: 0 }),
        Err(EditError::NoSuchItem(9))
    ));
    assert!(matches!(
        o.apply(&Edit::Move { item: 0, to: 5 }),
        Err(EditError::BadPosition { .. })
    ));
    o.apply(&Edit::Move { item: 1, to: 0 }).unwrap();
    assert_eq!(ids(&o), [1, 0, 2, 4, 3]);
}

#[test]
fn insert_remove_trim_and_lines() {
    let mut o = order();
    o.apply(&Edit::Insert {
        at: 5,
        kind: ItemKind::Break {
            label: "Sponsors".into(),
            duration_ms: 30_000,
        },
        locked: false,
    })
    .unwrap();
    assert_eq!(o.items[5].id, 5, "new ids follow the highest");
    assert!(
        o.apply(&Edit::Insert {
            at: 0,
            kind: card("x", 5_000),
            locked: false
        })
        .is_err(),
        "would shift the locked act"
    );
    o.apply(&Edit::Remove { item: 5 }).unwrap();
    o.apply(&Edit::Insert {
        at: 3,
        kind: card("Hello", 5_000),
        locked: false,
    })
    .unwrap();
    assert_eq!(o.items[3].id, 6, "ids are never reused");
    assert!(
        o.apply(&Edit::Remove { item: 0 }).is_err(),
        "would shift the locked act"
    );
    assert_eq!(
        o.apply(&Edit::Remove { item: 2 }),
        Err(EditError::Locked(2))
    );

    o.apply(&Edit::Trim {
        item: 4,
        in_ms: 5_000,
        out_ms: 65_000,
    })
    .unwrap();
    assert_eq!(o.get(4).unwrap().duration_ms(), 60_000);
    for bad in [(-1, 1000), (0, 90_001), (1000, 1010)] {
        assert!(matches!(
            o.apply(&Edit::Trim {
                item: 4,
                in_ms: bad.0,
                out_ms: bad.1
            }),
            Err(EditError::Invalid(_))
        ));
    }
    assert!(
        o.apply(&Edit::Trim {
            item: 1,
            in_ms: 0,
            out_ms: 1000
        })
        .is_err(),
        "cards are not trimmed"
    );
    assert_eq!(
        o.apply(&Edit::Trim {
            item: 2,
            in_ms: 0,
            out_ms: 1000
        }),
        Err(EditError::Locked(2))
    );

    o.apply(&Edit::SetHostLine {
        item: 1,
        line: "  Next: Beta!  ".into(),
        writer: "director".into(),
        duration_ms: 7_000,
    })
    .unwrap();
    let ItemKind::HostCard(c) = &o.get(1).unwrap().kind else {
        panic!()
    };
    assert_eq!(
        (c.line.as_str(), c.writer.as_str(), c.duration_ms),
        ("Next: Beta!", "director", 7_000)
    );
    assert!(o
        .apply(&Edit::SetHostLine {
            item: 1,
            line: " ".into(),
            writer: "d".into(),
            duration_ms: 7_000
        })
        .is_err());
    assert!(o
        .apply(&Edit::SetHostLine {
            item: 0,
            line: "x".into(),
            writer: "d".into(),
            duration_ms: 7_000
        })
        .is_err());
    o.apply(&Edit::SetDuration {
        item: 6,
        duration_ms: 8_000,
    })
    .unwrap();
    assert!(
        o.apply(&Edit::SetDuration {
            item: 0,
            duration_ms: 8_000
        })
        .is_err(),
        "acts are trimmed instead"
    );

    o.apply(&Edit::Lock {
        item: 2,
        locked: false,
    })
    .unwrap();
    o.apply(&Edit::Remove { item: 2 }).unwrap();
    assert!(o.get(2).is_none());
}

#[test]
fn replace_checks_ids_and_keeps_ids_fresh() {
    let mut o = order();
    let mut items = o.items.clone();
    items.truncate(2);
    o.apply(&Edit::Replace {
        items: items.clone(),
    })
    .unwrap();
    o.apply(&Edit::Insert {
        at: 2,
        kind: card("x", 1000),
        locked: false,
    })
    .unwrap();
    assert_eq!(o.items[2].id, 5);
    items.push(items[0].clone());
    assert!(
        o.apply(&Edit::Replace { items }).is_err(),
        "a repeated id is refused"
    );
}

#[test]
fn back_timing_reads_the_clock() {
    let t = back_time(&meta(), &order());
    let clocks: Vec<&str> = t.items.iter().map(|i| i.clock.as_str()).collect();
    assert_eq!(
        clocks,
        ["20:00:00", "20:01:00", "20:01:10", "20:03:10", "20:03:20"]
    );
    assert_eq!(t.total_ms, 290_000);
    assert_eq!(t.over_ms, -310_000);
    assert!(!t.within_tolerance);
    assert_eq!(t.ends_at, "20:04:50");
    let mut late = meta();
    late.starts_at = "2027-02-05T23:59:00".into();
    assert_eq!(back_time(&late, &order()).ends_at, "00:03:50 +1");
}

#[test]
fn meta_is_checked() {
    assert!(check_meta(&meta()).is_ok());
    for (field, bad) in [
        ("title", ""),
        ("starts_at", "tomorrow"),
        ("starts_at", "2027-13-01T20:00"),
        ("starts_at", "2027-02-05T24:00"),
    ] {
        let mut m = meta();
        match field {
            "title" => m.title = bad.into(),
            _ => m.starts_at = bad.into(),
        }
        assert!(check_meta(&m).is_err(), "{field} {bad:?}");
    }
    let mut m = meta();
    m.target_ms = 1000;
    assert!(check_meta(&m).is_err());
    assert_eq!(parse_clock("1970-01-02T00:00:01"), Some((1, 1000)));
}

#[test]
fn diff_names_moves_adds_removes_and_changes() {
    let a = order();
    let mut b = a.clone();
    b.apply(&Edit::Move { item: 4, to: 0 }).unwrap_err(); // locked in the way
    b.apply(&Edit::Move { item: 1, to: 0 }).unwrap();
    b.apply(&Edit::Remove { item: 3 }).unwrap();
    b.apply(&Edit::Trim {
        item: 4,
        in_ms: 0,
        out_ms: 30_000,
    })
    .unwrap();
    b.apply(&Edit::Insert {
        at: 4,
        kind: card("Goodnight", 5_000),
        locked: false,
    })
    .unwrap();
    let mut m2 = meta();
    m2.title = "Spring Gala 2027".into();
    let changes = diff(&meta(), &a, &m2, &b);
    assert!(changes.iter().any(|c| matches!(c, Change::Meta { .. })));
    assert!(
        changes.iter().any(|c| matches!(c, Change::Moved { .. })),
        "{changes:?}"
    );
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::Changed { id: 4, .. })));
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::Added { at: 4, .. })));
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::Removed { was_at: 3, .. })));
    assert_eq!(
        changes
            .iter()
            .filter(|c| matches!(c, Change::Moved { .. }))
            .count(),
        1,
        "one move, not a cascade"
    );
    assert!(diff(&meta(), &a, &meta(), &a).is_empty());
}

#[test]
fn utc_times_round_trip_through_the_calendar() {
    assert_eq!(parse_utc("1970-01-01T00:00"), Some(0));
    let t = parse_utc("2026-11-29T20:00:05").unwrap();
    assert_eq!(t, 1_795_982_405_000);
    assert_eq!(utc_clock(t + 250), "2026-11-29 20:00:05.250");
    assert_eq!(
        utc_clock(parse_utc("2028-02-29T23:59:59").unwrap()),
        "2028-02-29 23:59:59.000"
    );
    assert_eq!(
        utc_clock(parse_utc("2000-03-01T00:00").unwrap()),
        "2000-03-01 00:00:00.000"
    );
    assert_eq!(parse_utc("2026-13-01T00:00"), None);
}

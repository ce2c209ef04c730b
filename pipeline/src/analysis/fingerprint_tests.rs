use super::*;
use crate::ingest::testmedia::{clip, limits};

#[test]
fn frames_twice_a_second_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let path = clip(dir.path(), "a.mp4", "160x120", "25", 4.0, Some(0.3));
    let fp = fingerprint(&path, &limits()).unwrap();
    assert!(
        (7..=9).contains(&fp.frame_hashes.len()),
        "{}",
        fp.frame_hashes.len()
    );
    assert!(fp.frame_hashes.windows(2).all(|w| w[1].0 > w[0].0));
    assert!(!fp.audio.is_empty());
    assert!((fp.duration_s - 4.0).abs() < 0.2, "{}", fp.duration_s);
    // Compact JSON that reads back the same.
    let json = serde_json::to_string(&fp).unwrap();
    assert!(json.starts_with("{\"f\":[["), "{json}");
    assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
}

#[test]
fn no_audio_gives_an_empty_audio_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = clip(dir.path(), "a.mp4", "160x120", "25", 2.0, None);
    let fp = fingerprint(&path, &limits()).unwrap();
    assert!(fp.audio.is_empty());
    assert!(fp.frame_hashes.len() >= 3);
}

#[test]
fn unreadable_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.mp4");
    std::fs::write(&path, b"not media at all").unwrap();
    assert!(fingerprint(&path, &limits()).is_err());
}

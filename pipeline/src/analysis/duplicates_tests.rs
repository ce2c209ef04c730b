use std::path::Path;
use std::sync::OnceLock;

use rand::{Rng, SeedableRng};

use super::*;
use crate::analysis::fingerprint::fingerprint;
use crate::ingest::testmedia::{ffmpeg, limits};

const ORIGINAL: i64 = 1;
const OTHER: i64 = 2;

struct Media {
    original: Fingerprint,
    reencoded: Fingerprint,
    resized: Fingerprint,
    trimmed: Fingerprint,
    quieter: Fingerprint,
    different: Fingerprint,
}

/// The original (moving testsrc2 + a tone sweep with a pulsing second tone), four copies of it
/// and an unrelated clip, fingerprinted once for all tests.
fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
        let mut args = vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=10",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.4*sin(2*PI*(200+60*t)*t)+0.2*sin(2*PI*660*t)*lt(mod(t\\,1)\\,0.5):s=44100:d=10",
        ];
        args.extend(x264);
        args.extend(["-c:a", "aac", "-b:a", "128k"]);
        let original = ffmpeg(d, "original.mp4", &args);
        let o = original.to_str().unwrap();
        let copy = |name: &str, extra: &[&str]| {
            let mut a = vec!["-i", o];
            a.extend(extra);
            ffmpeg(d, name, &a)
        };
        let reencoded = copy(
            "reencoded.mkv",
            &["-c:v", "mpeg4", "-b:v", "150k", "-c:a", "aac", "-b:a", "48k"],
        );
        let mut resize = vec!["-vf", "scale=160:120"];
        resize.extend(x264);
        resize.extend(["-c:a", "copy"]);
        let resized = copy("resized.mp4", &resize);
        let mut trim = vec!["-ss", "2", "-t", "6"];
        trim.extend(x264);
        trim.extend(["-c:a", "aac"]);
        let trimmed = copy("trimmed.mp4", &trim);
        let quieter = copy(
            "quieter.mp4",
            &["-af", "volume=-6dB", "-c:v", "copy", "-c:a", "aac"],
        );
        let mut other = vec![
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=320x240:rate=25,trim=duration=10",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=d=10:c=pink:a=0.3",
        ];
        other.extend(x264);
        other.extend(["-c:a", "aac"]);
        let different = ffmpeg(d, "different.mp4", &other);
        let fp = |p: &Path| fingerprint(p, &limits()).unwrap();
        Media {
            original: fp(&original),
            reencoded: fp(&reencoded),
            resized: fp(&resized),
            trimmed: fp(&trimmed),
            quieter: fp(&quieter),
            different: fp(&different),
        }
    })
}

fn random_fingerprint(rng: &mut rand::rngs::StdRng, seconds: usize) -> Fingerprint {
    Fingerprint {
        frame_hashes: (0..seconds * 2)
            .map(|i| (i as f64 / 2.0, rng.gen()))
            .collect(),
        audio: (0..seconds * 8).map(|_| rng.gen()).collect(),
        duration_s: seconds as f64,
    }
}

fn copies(m: &Media) -> [(&'static str, &Fingerprint); 4] {
    [
        ("re-encoded", &m.reencoded),
        ("resized", &m.resized),
        ("trimmed", &m.trimmed),
        ("volume -6 dB", &m.quieter),
    ]
}

#[test]
fn copies_match_the_original_and_a_different_clip_matches_nothing() {
    let m = media();
    let t = MatchThresholds::default();
    let index: DuplicateIndex = [(ORIGINAL, m.original.clone())].into_iter().collect();
    for (what, fp) in copies(m) {
        let found = index.find(fp, &t);
        let best = found.first().unwrap_or_else(|| panic!("{what}: no match"));
        assert_eq!(best.clip_id, ORIGINAL, "{what}");
        assert!(best.score >= t.min_score, "{what}: {best:?}");
        assert!(best.matched_frames >= 8, "{what}: {best:?}");
        let audio = best.audio_similarity.unwrap();
        assert!(audio > 0.5, "{what}: audio {audio}");
        assert!(!best.evidence.is_empty());
    }
    // The trimmed copy starts 2 s into the original.
    let trimmed = &index.find(&m.trimmed, &t)[0];
    let offset = trimmed.offset_s.unwrap();
    assert!((offset - 2.0).abs() < 0.6, "offset {offset}");
    assert!(
        trimmed
            .evidence
            .iter()
            .all(|(q, theirs)| (theirs - q - 2.0).abs() < 0.8),
        "{trimmed:?}"
    );
    // The different clip, looked up and as the indexed one.
    assert_eq!(index.find(&m.different, &t), Vec::new());
    let other: DuplicateIndex = [(OTHER, m.different.clone())].into_iter().collect();
    for (what, fp) in copies(m) {
        assert_eq!(other.find(fp, &t), Vec::new(), "{what}");
    }
}

#[test]
fn found_among_a_thousand_others_as_by_a_full_scan() {
    let m = media();
    let t = MatchThresholds::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut index: DuplicateIndex = (100..1100)
        .map(|id| {
            let seconds = rng.gen_range(5..60);
            (id, random_fingerprint(&mut rng, seconds))
        })
        .collect();
    index.insert(ORIGINAL, &m.original);
    index.insert(OTHER, &m.different);
    assert_eq!(index.len(), 1002);
    for (what, fp) in copies(m) {
        let found = index.find(fp, &t);
        assert_eq!(found.len(), 1, "{what}: {found:?}");
        assert_eq!(found[0].clip_id, ORIGINAL, "{what}");
        assert_eq!(found, index.find_linear(fp, &t), "{what}");
    }
    let found = index.find(&m.different, &t);
    assert_eq!(found.iter().map(|f| f.clip_id).collect::<Vec<_>>(), [OTHER]);
    // A stored random clip finds itself.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let seconds = rng.gen_range(5..60);
    let first = random_fingerprint(&mut rng, seconds);
    assert_eq!(index.find(&first, &t)[0].clip_id, 100);
    assert!(index.memory_bytes() > 0);
}

#[test]
fn removed_clips_are_not_found() {
    let m = media();
    let t = MatchThresholds::default();
    let mut index: DuplicateIndex = [(ORIGINAL, m.original.clone()), (OTHER, m.different.clone())]
        .into_iter()
        .collect();
    assert_eq!(index.find(&m.trimmed, &t)[0].clip_id, ORIGINAL);
    assert!(index.remove(ORIGINAL));
    assert!(!index.remove(ORIGINAL));
    assert_eq!(index.len(), 1);
    assert_eq!(index.find(&m.trimmed, &t), Vec::new());
    assert_eq!(index.find_linear(&m.trimmed, &t), Vec::new());
    // Inserted again under another id; replacing an id keeps one entry.
    index.insert(5, &m.original);
    index.insert(5, &m.original);
    assert_eq!(index.len(), 2);
    let found = index.find(&m.trimmed, &t);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].clip_id, 5);
}

#[test]
fn many_removals_compact_the_tables() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let fps: Vec<Fingerprint> = (0..300).map(|_| random_fingerprint(&mut rng, 20)).collect();
    let mut index: DuplicateIndex = fps
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, f)| (i as i64, f))
        .collect();
    for id in 0..250 {
        assert!(index.remove(id));
    }
    assert_eq!(index.len(), 50);
    let t = MatchThresholds::default();
    assert_eq!(index.find(&fps[10], &t), Vec::new());
    assert_eq!(index.find(&fps[260], &t)[0].clip_id, 260);
}

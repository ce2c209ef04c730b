//! `gala bench duplicates`: duplicate lookups in a [`DuplicateIndex`] of N synthetic
//! fingerprints (random frame hashes, two a second of 2–5-minute clips, and random audio, from a
//! fixed seed) plus real fingerprints of generated clips, side by side with a brute-force scan
//! of every stored frame ([`DuplicateIndex::find_linear`]) as the reference.

use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::analysis::duplicates::{DuplicateIndex, MatchThresholds};
use gala_pipeline::analysis::fingerprint::{fingerprint, Fingerprint};
use gala_pipeline::{demo, Config};

use super::{make_clips, peak_rss};

/// splitmix64: a fixed-seed generator, enough for synthetic hashes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A random fingerprint of a 2–5-minute clip: 2 frame hashes and ~8 chromaprint items a second.
fn synthetic(rng: &mut Rng) -> Fingerprint {
    let seconds = rng.range(120, 301) as usize;
    Fingerprint {
        frame_hashes: (0..seconds * 2)
            .map(|i| (i as f64 / 2.0, rng.next()))
            .collect(),
        audio: (0..seconds * 8).map(|_| rng.next() as u32).collect(),
        duration_s: seconds as f64,
    }
}

/// A near copy of `fp`: trimmed by 10 s at both ends, 2 bits of every frame hash and 1 bit of
/// every audio item flipped.
fn near_copy(fp: &Fingerprint, rng: &mut Rng) -> Fingerprint {
    let frames = &fp.frame_hashes[20..fp.frame_hashes.len() - 20];
    let audio = &fp.audio[80..fp.audio.len() - 80];
    Fingerprint {
        frame_hashes: frames
            .iter()
            .map(|&(t, h)| {
                (
                    t - 10.0,
                    h ^ (1 << rng.range(0, 64)) ^ (1 << rng.range(0, 64)),
                )
            })
            .collect(),
        audio: audio.iter().map(|&a| a ^ (1 << rng.range(0, 32))).collect(),
        duration_s: fp.duration_s - 20.0,
    }
}

struct Timing {
    mean_ms: f64,
    p99_ms: f64,
}

fn time(reps: usize, mut f: impl FnMut() -> usize, expect: usize, what: &str) -> Timing {
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let found = f();
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(found, expect, "{what}: wrong number of matches");
            elapsed
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let p99 = ms[((ms.len() as f64 * 0.99).ceil() as usize).clamp(1, ms.len()) - 1];
    Timing {
        mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
        p99_ms: p99,
    }
}

pub async fn bench_duplicates(
    config: Config,
    sizes: Vec<usize>,
    reps: usize,
    linear_reps: usize,
) -> anyhow::Result<ExitCode> {
    let thresholds: MatchThresholds = config.duplicates.clone();
    let dir = config.data_dir.join("bench-duplicates");
    println!("duplicates bench: fingerprinting generated clips …");
    let real = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let clips = make_clips(&dir, 1, "640x360", 10.0)?;
        let other = dir.join("bench-other.mp4");
        if !other.exists() {
            let args: Vec<String> = "-hide_banner -loglevel error -f lavfi \
                 -i mandelbrot=size=640x360:rate=30,trim=duration=10 -f lavfi \
                 -i anoisesrc=d=10:c=pink:a=0.3 -c:v libx264 -preset ultrafast \
                 -pix_fmt yuv420p -c:a aac"
                .split_whitespace()
                .map(String::from)
                .collect();
            demo::ffmpeg(&args, &other)?;
        }
        let copy = dir.join("bench-0000-copy.mp4");
        if !copy.exists() {
            let args: Vec<String> = format!(
                "-hide_banner -loglevel error -i {} -ss 2 -t 6 -vf scale=320:180 -c:v libx264 \
                 -preset ultrafast -crf 35 -pix_fmt yuv420p -af volume=-6dB -c:a aac",
                clips[0].display()
            )
            .split_whitespace()
            .map(String::from)
            .collect();
            demo::ffmpeg(&args, &copy)?;
        }
        let limits = config.limits.clone();
        let fps = [&clips[0], &other, &copy]
            .map(|p| fingerprint(p, &limits).map_err(anyhow::Error::from));
        let [a, b, c] = fps;
        Ok((a?, b?, c?))
    })
    .await??;
    let (real_original, real_other, real_copy) = real;
    println!(
        "| clips | build s | index MB | near copy: index mean / p99 ms | scan mean ms | ratio | \
         unrelated: index mean / p99 ms | scan mean ms | ratio | real copy: index ms, score |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let mut rng = Rng(0x6a1a);
        let t = Instant::now();
        let mut index = DuplicateIndex::new();
        let mut target = None;
        for id in 0..n as i64 {
            let fp = synthetic(&mut rng);
            if id == n as i64 / 2 {
                target = Some(fp.clone());
            }
            index.insert(id, &fp);
        }
        index.insert(-1, &real_original);
        index.insert(-2, &real_other);
        let build_s = t.elapsed().as_secs_f64();
        let target = target.expect("n > 0");
        let copy = near_copy(&target, &mut rng);
        let unrelated = synthetic(&mut Rng(0xdead));
        let near = time(
            reps,
            || index.find(&copy, &thresholds).len(),
            1,
            "near copy",
        );
        let near_lin = time(
            linear_reps,
            || index.find_linear(&copy, &thresholds).len(),
            1,
            "near copy (scan)",
        );
        let other = time(
            reps,
            || index.find(&unrelated, &thresholds).len(),
            0,
            "unrelated",
        );
        let other_lin = time(
            linear_reps,
            || index.find_linear(&unrelated, &thresholds).len(),
            0,
            "unrelated (scan)",
        );
        let t = Instant::now();
        let found = index.find(&real_copy, &thresholds);
        let real_ms = t.elapsed().as_secs_f64() * 1000.0;
        let ids: Vec<i64> = found.iter().map(|m| m.clip_id).collect();
        let best = found.first().filter(|m| m.clip_id == -1 && ids == [-1]);
        println!(
            "| {n} | {build_s:.1} | {:.0} | {:.2} / {:.2} | {:.0} | {:.0}x | {:.2} / {:.2} | {:.0} | {:.0}x | {real_ms:.2}, {} |",
            index.memory_bytes() as f64 / 1e6,
            near.mean_ms,
            near.p99_ms,
            near_lin.mean_ms,
            near_lin.mean_ms / near.mean_ms,
            other.mean_ms,
            other.p99_ms,
            other_lin.mean_ms,
            other_lin.mean_ms / other.mean_ms,
            best.map(|m| format!("{:.2}", m.score))
                .unwrap_or_else(|| format!("WRONG: {ids:?}")),
        );
    }
    println!("near copy: a synthetic clip trimmed 10 s at both ends with 2 bits of every frame hash flipped; unrelated: a new random 2–5-minute clip; real copy: a generated 10 s clip trimmed, downscaled, re-encoded at CRF 35 and 6 dB quieter");
    println!(
        "{reps} index lookups and {linear_reps} scans each; peak memory {}",
        peak_rss()
    );
    Ok(ExitCode::SUCCESS)
}

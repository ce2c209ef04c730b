//! `gala bench planner`: the running-order planner on seeded random pools (300, 3000 and 30000
//! acts by default) for a 4 h 30 min show: the median time per plan and the plan's
//! over/under, side by side with a plain greedy fill (acts by score, first fit) of the same
//! pool, so the cost of the constraints shows as a ratio.

use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::planner::random::random_pool;
use gala_pipeline::planner::{plan, Candidate, PlanRequest};
use gala_pipeline::show::{RunningOrder, ShowMeta};
use gala_pipeline::Config;

/// The reference: acts by score (unscored last), each taken when it still fits the target plus
/// the tolerance. Returns the total, milliseconds.
fn greedy_fill(pool: &[Candidate], target: i64, tol: i64) -> i64 {
    let mut order: Vec<&Candidate> = pool.iter().collect();
    order.sort_by(|a, b| {
        b.score
            .unwrap_or(0.0)
            .total_cmp(&a.score.unwrap_or(0.0))
            .then(a.submission_id.cmp(&b.submission_id))
    });
    let mut total = 0;
    for c in order {
        if total + c.duration_ms <= target + tol {
            total += c.duration_ms;
        }
    }
    total
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn signed(ms: i64) -> String {
    format!("{:+.1} s", ms as f64 / 1000.0)
}

pub fn bench_planner(config: Config, sizes: Vec<usize>, runs: usize) -> anyhow::Result<ExitCode> {
    let target = 270 * 60_000;
    let meta = ShowMeta {
        title: "Bench".into(),
        starts_at: "2027-02-05T19:30".into(),
        target_ms: target,
        tolerance_ms: 10_000,
        house_format: "default".into(),
    };
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "planner on random pools, 4 h 30 min show ±10 s, median of {runs} runs ({build} build)"
    );
    println!(
        "{:>7} | {:>11} {:>10} {:>6} {:>7} | {:>11} {:>10} | {:>6}",
        "acts", "planner ms", "over", "acts", "warns", "greedy ms", "over", "ratio"
    );
    for n in sizes {
        let pool = random_pool(42, n);
        let req = PlanRequest {
            meta: meta.clone(),
            current: RunningOrder::default(),
            opening: None,
            finale: None,
            language: "en".into(),
            seed: Some(1),
        };
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let t = Instant::now();
            let p = plan(&req, &pool, &config.planner)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            last = Some(p);
        }
        let p = last.expect("at least one run");
        let mut gtimes = Vec::new();
        let mut gtotal = 0;
        for _ in 0..runs {
            let t = Instant::now();
            gtotal = greedy_fill(std::hint::black_box(&pool), target, 10_000);
            gtimes.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (pm, gm) = (median(times), median(gtimes));
        println!(
            "{:>7} | {:>11.2} {:>10} {:>6} {:>7} | {:>11.3} {:>10} | {:>5.0}x",
            n,
            pm,
            signed(p.over_ms),
            p.order.items.iter().filter(|i| i.act().is_some()).count(),
            p.warnings.len(),
            gm,
            signed(gtotal - target),
            pm / gm.max(1e-6)
        );
    }
    Ok(ExitCode::SUCCESS)
}

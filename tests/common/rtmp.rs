//! A real RTMP server for the live tests: Debian's nginx with libnginx-mod-rtmp on a loopback
//! port, recording every stream it receives (one FLV per publish) so the test can probe what
//! arrived. Killed and restarted at will.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

pub struct RtmpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl RtmpServer {
    /// Starts nginx on a free loopback port, recording into `dir/rec`.
    pub fn start(dir: &Path) -> RtmpServer {
        assert!(
            Path::new(RTMP_MODULE).exists(),
            "nginx's RTMP module is missing: run scripts/install-debian-deps.sh"
        );
        let port = free_port();
        std::fs::create_dir_all(dir.join("rec")).unwrap();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n\
             load_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
               application live {{ live on; record all; record_path {dir}/rec; record_unique on; }} }} }}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut server = RtmpServer {
            port,
            dir: dir.to_path_buf(),
            child: None,
        };
        server.restart();
        server
    }

    /// The address to publish stream `key` to.
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// Starts (again) on the same port; waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx runs (scripts/install-debian-deps.sh installs it)");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nginx did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the connection drops without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The recordings so far, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> =
            std::fs::read_dir(self.dir.join("rec"))
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "flv"))
                .map(|p| {
                    (
                        std::fs::metadata(&p)
                            .unwrap()
                            .created()
                            .or_else(|_| std::fs::metadata(&p).unwrap().modified())
                            .unwrap(),
                        p,
                    )
                })
                .collect();
        files.sort();
        files.into_iter().map(|(_, p)| p).collect()
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One packet of a received stream (times in seconds).
#[derive(Debug, Clone)]
pub struct Received {
    pub video: bool,
    pub dts: f64,
    pub duration: f64,
    pub key: bool,
}

/// The packets of a recording, read with ffprobe.
pub fn packets(flv: &Path) -> Vec<Received> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=codec_type,dts_time,duration_time,flags",
            "-of",
            "csv=p=0",
        ])
        .arg(flv)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 4 {
                return None;
            }
            Some(Received {
                video: f[0] == "video",
                dts: f[1].parse().ok()?,
                duration: f[2].parse().unwrap_or(0.0),
                key: f[3].contains('K'),
            })
        })
        .collect()
}

/// What a received stream looks like.
#[derive(Debug)]
pub struct Continuity {
    pub video_packets: usize,
    pub audio_packets: usize,
    /// Largest step between consecutive decode times, per stream (seconds).
    pub max_video_step: f64,
    pub max_audio_step: f64,
    /// Decode times that went backwards or repeated.
    pub backwards: usize,
    /// End of the video minus end of the audio (seconds): the A/V offset at the end.
    pub end_offset: f64,
    pub first_dts: f64,
    pub video_end: f64,
    /// Longest run between keyframes (seconds).
    pub max_key_interval: f64,
}

pub fn continuity(p: &[Received]) -> Continuity {
    let mut c = Continuity {
        video_packets: 0,
        audio_packets: 0,
        max_video_step: 0.0,
        max_audio_step: 0.0,
        backwards: 0,
        end_offset: 0.0,
        first_dts: p.first().map_or(0.0, |r| r.dts),
        video_end: 0.0,
        max_key_interval: 0.0,
    };
    let (mut last_v, mut last_a, mut last_key): (Option<f64>, Option<f64>, Option<f64>) =
        (None, None, None);
    let (mut v_end, mut a_end) = (0.0f64, 0.0f64);
    for r in p {
        let (last, step, count) = if r.video {
            (&mut last_v, &mut c.max_video_step, &mut c.video_packets)
        } else {
            (&mut last_a, &mut c.max_audio_step, &mut c.audio_packets)
        };
        *count += 1;
        if let Some(l) = *last {
            if r.dts <= l {
                c.backwards += 1;
            }
            *step = step.max(r.dts - l);
        }
        *last = Some(r.dts);
        if r.video {
            v_end = v_end.max(r.dts + r.duration);
            if r.key {
                if let Some(k) = last_key {
                    c.max_key_interval = c.max_key_interval.max(r.dts - k);
                }
                last_key = Some(r.dts);
            }
        } else {
            a_end = a_end.max(r.dts + r.duration);
        }
    }
    c.end_offset = v_end - a_end;
    c.video_end = v_end;
    c
}

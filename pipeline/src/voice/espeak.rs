//! espeak-ng, the embedded default voice: the `espeak-ng` command (Debian package) writes a
//! WAV file that `hound` reads. The line goes in on standard input, never through a shell or
//! as an argument, so no text can become an option.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Speech, Voice, VoiceError};
use crate::ai::RunControl;

/// The espeak-ng program.
pub const PROGRAM: &str = "espeak-ng";

/// The espeak-ng command-line voice.
#[derive(Debug, Clone)]
pub struct EspeakVoice {
    program: String,
    wpm: u32,
}

impl EspeakVoice {
    /// espeak-ng from `PATH`, speaking at `wpm` words per minute.
    pub fn new(wpm: u32) -> EspeakVoice {
        EspeakVoice::with_program(PROGRAM, wpm)
    }

    /// A given espeak-ng program (tests name a missing one).
    pub fn with_program(program: &str, wpm: u32) -> EspeakVoice {
        EspeakVoice {
            program: program.into(),
            wpm: wpm.clamp(80, 450),
        }
    }
}

/// The espeak-ng voice for a BCP-47 tag: `zh*` / `cmn*` Mandarin (`cmn`), `yue` / `zh-HK`
/// Cantonese, `en*` English; any other plain tag is passed on as espeak-ng's voice name (it
/// has most languages under their ISO 639 code). `None` for a tag that is not a tag.
pub fn voice_name(language: &str) -> Option<String> {
    let tag = language.trim().to_ascii_lowercase().replace('_', "-");
    if tag.is_empty()
        || tag.starts_with('-')
        || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return None;
    }
    let primary = tag.split('-').next().unwrap_or_default();
    let name = match primary {
        "yue" => "yue",
        "zh" if tag.ends_with("-hk") || tag.contains("-yue") => "yue",
        "zh" | "cmn" => "cmn",
        "en" => "en",
        other => other,
    };
    Some(name.to_string())
}

impl Voice for EspeakVoice {
    fn name(&self) -> String {
        PROGRAM.into()
    }

    fn speak(
        &self,
        text: &str,
        language: &str,
        ctl: &mut RunControl,
    ) -> Result<Speech, VoiceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(VoiceError::Empty);
        }
        let voice = voice_name(language).ok_or_else(|| VoiceError::Language {
            voice: PROGRAM.into(),
            language: language.into(),
        })?;
        let dir = tempfile::tempdir().map_err(|e| self.failed(e))?;
        let wav = dir.path().join("line.wav");
        let mut child = Command::new(&self.program)
            .args(["-v", &voice, "-b", "1", "-s", &self.wpm.to_string(), "-w"])
            .arg(&wav)
            .arg("--stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    VoiceError::Missing(format!("`{}` was not found", self.program))
                }
                _ => self.failed(e),
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A newline ends the last clause, as espeak-ng expects from a terminal.
            stdin
                .write_all(format!("{text}\n").as_bytes())
                .map_err(|e| self.failed(e))?;
        }
        let status = wait(&mut child, ctl)?;
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            use std::io::Read;
            let _ = err.read_to_string(&mut stderr);
        }
        if !status.success() || !wav.exists() {
            if stderr.to_ascii_lowercase().contains("voice") {
                return Err(VoiceError::Language {
                    voice: PROGRAM.into(),
                    language: language.into(),
                });
            }
            return Err(self.failed(format!("exit {status}: {}", stderr.trim())));
        }
        let speech = read_wav(&wav).map_err(|e| self.failed(e))?;
        if speech.frames() == 0 {
            return Err(self.failed("no audio was written"));
        }
        Ok(speech)
    }
}

impl EspeakVoice {
    fn failed(&self, reason: impl std::fmt::Display) -> VoiceError {
        VoiceError::Failed {
            voice: PROGRAM.into(),
            reason: reason.to_string(),
        }
    }
}

/// Waits for the child within the run's deadline; kills it when the deadline passes.
fn wait(
    child: &mut std::process::Child,
    ctl: &RunControl,
) -> Result<std::process::ExitStatus, VoiceError> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                return Err(VoiceError::Failed {
                    voice: PROGRAM.into(),
                    reason: e.to_string(),
                })
            }
        }
        if let Err(e) = ctl.check("voice") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e.into());
        }
        // Poll quickly at first: a short line is spoken in a few milliseconds.
        let pause = if started.elapsed() < Duration::from_millis(200) {
            2
        } else {
            20
        };
        std::thread::sleep(Duration::from_millis(pause));
    }
}

/// Reads a WAV file (16-bit or float PCM, any channel count) as [`Speech`].
pub fn read_wav(path: &std::path::Path) -> Result<Speech, String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample.max(1) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
        }
    };
    Ok(Speech {
        samples,
        channels: spec.channels,
        rate: spec.sample_rate,
    })
}

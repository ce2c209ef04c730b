use super::espeak::voice_name;
use super::*;
use crate::ai::ModelsConfig;
use crate::config::HouseFormat;

fn house() -> HouseFormat {
    crate::ingest::testmedia::house()
}

fn speak(voice: &dyn Voice, text: &str, language: &str) -> Result<Speech, VoiceError> {
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    voice.speak(text, language, &mut ctl)
}

fn assert_house_loudness(s: &HouseSpeech, h: &HouseFormat) {
    let i = s.loudness.integrated_lufs.expect("speech has a loudness");
    assert!(
        (i - h.loudness_target).abs() <= 0.5,
        "integrated {i} LUFS, target {}",
        h.loudness_target
    );
    let tp = s.loudness.true_peak_dbtp.expect("speech has a peak");
    assert!(tp <= h.true_peak_max, "true peak {tp} dBTP");
    assert_eq!(s.rate, h.audio_sample_rate);
    assert_eq!(s.samples.len() % 2, 0);
}

#[test]
fn espeak_speaks_english_at_house_loudness() {
    let voice = EspeakVoice::new(160);
    let text =
        "Good evening, and welcome to the Spring Gala. Our next act is a song about the moon.";
    let speech = speak(&voice, text, "en").unwrap();
    assert_eq!(speech.channels, 1);
    let ms = speech.duration_ms();
    // 16 words at 160 words per minute: about 6 s, with pauses.
    assert!((3_500..=9_000).contains(&ms), "{ms} ms");
    let h = house();
    let out = to_house(&speech, &h).unwrap();
    assert_house_loudness(&out, &h);
    // Resampling keeps the length to the millisecond.
    assert!(
        (out.duration_ms() - ms).abs() <= 1,
        "{} vs {ms}",
        out.duration_ms()
    );
}

#[test]
fn espeak_speaks_mandarin_at_house_loudness() {
    let voice = EspeakVoice::new(160);
    let text = "晚上好，欢迎收看春节联欢晚会。下一个节目马上开始。";
    let speech = speak(&voice, text, "zh-CN").unwrap();
    let ms = speech.duration_ms();
    // 22 syllables: a few seconds.
    assert!((2_500..=12_000).contains(&ms), "{ms} ms");
    let h = house();
    let out = to_house(&speech, &h).unwrap();
    assert_house_loudness(&out, &h);
    // A longer line takes longer.
    let short = speak(&voice, "你好。", "zh-CN").unwrap();
    assert!(
        short.duration_ms() * 3 < ms,
        "{} vs {ms}",
        short.duration_ms()
    );
}

#[test]
fn a_missing_espeak_is_a_clear_error() {
    let voice = EspeakVoice::with_program("/nonexistent/espeak-ng", 160);
    let err = speak(&voice, "hello", "en").unwrap_err();
    assert!(matches!(err, VoiceError::Missing(_)), "{err:?}");
    assert!(
        err.to_string().contains("espeak-ng is not installed"),
        "{err}"
    );
}

#[test]
fn empty_lines_and_bad_tags_are_refused() {
    let voice = EspeakVoice::new(160);
    assert!(matches!(speak(&voice, "  ", "en"), Err(VoiceError::Empty)));
    assert!(matches!(
        speak(&voice, "hello", "--help"),
        Err(VoiceError::Language { .. })
    ));
}

#[test]
fn languages_map_to_espeak_voices() {
    assert_eq!(voice_name("zh-CN").as_deref(), Some("cmn"));
    assert_eq!(voice_name("zh").as_deref(), Some("cmn"));
    assert_eq!(voice_name("zh_Hans").as_deref(), Some("cmn"));
    assert_eq!(voice_name("zh-HK").as_deref(), Some("yue"));
    assert_eq!(voice_name("en-US").as_deref(), Some("en"));
    assert_eq!(voice_name("fr").as_deref(), Some("fr"));
    assert_eq!(voice_name("-v"), None);
    assert_eq!(voice_name("en us"), None);
    assert_eq!(voice_name(""), None);
}

#[test]
fn loud_peaky_audio_is_limited_under_the_ceiling_at_the_target() {
    // Clicks over a quiet tone: at the target loudness the clicks would pass 0 dBFS.
    let rate = 48_000;
    let mut samples: Vec<f32> = (0..rate * 3)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            let tone = 0.02 * (2.0 * std::f32::consts::PI * 300.0 * t).sin();
            let click = if i % 4800 < 24 { 0.9 } else { 0.0 };
            [tone + click, tone + click]
        })
        .collect();
    let h = house();
    let l = house::normalize(&mut samples, &h).unwrap();
    let i = l.integrated_lufs.unwrap();
    assert!((i - h.loudness_target).abs() <= 0.5, "{i}");
    assert!(l.true_peak_dbtp.unwrap() <= h.true_peak_max);
}

#[test]
fn resampling_keeps_a_tone_and_its_length() {
    let from = 22_050;
    let tone: Vec<f32> = (0..from)
        .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / from as f32).sin() * 0.5)
        .collect();
    let out = house::resample(&tone, from, 48_000).unwrap();
    assert_eq!(out.len(), 48_000);
    // Zero crossings of a 440 Hz tone over one second: 880 (±2 at the ends).
    let crossings = out
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    assert!((878..=882).contains(&crossings), "{crossings}");
    let peak = out[1000..47_000].iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!((peak - 0.5).abs() < 0.02, "{peak}");
}

#[test]
fn default_voice_is_espeak() {
    let voice = voice_for(&ModelsConfig::default()).unwrap();
    assert_eq!(voice.name(), "espeak-ng");
    let ms = speech_ms("Hello there.", "en", voice.as_ref()).unwrap();
    assert!((400..=3_000).contains(&ms), "{ms}");
}

#[test]
fn tiny_random_parler_model_loads_and_speaks() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("parler");
    let parameters = random::write_tiny(&model_dir).unwrap();
    assert!(parameters > 1_000_000, "{parameters}");
    let mut models = ModelsConfig::default();
    models.voice.family = parler::FAMILY.into();
    models.voice.path = model_dir.clone();
    models.voice.max_seconds = 0.25;
    let voice = voice_for(&models).unwrap();
    assert!(voice.name().starts_with("parler-tts"), "{}", voice.name());
    let speech = speak(voice.as_ref(), "Good evening!", "en").unwrap();
    assert_eq!(speech.channels, 1);
    assert_eq!(speech.rate, 44_100);
    // The DAC decoder writes 512 samples per audio token.
    assert!(
        speech.frames() > 0 && speech.frames() % 512 == 0,
        "{}",
        speech.frames()
    );
    // At most max_seconds of tokens at the codec's 86 frames/s, and max_seconds is at least
    // 0.5 s: 43 steps (how many of them the random model fills with usable tokens varies).
    assert!(speech.frames() <= 512 * 43, "{}", speech.frames());
    assert!(speech.samples.iter().all(|v| v.is_finite()));
    let h = house();
    let out = to_house(&speech, &h).unwrap();
    assert_eq!(out.rate, 48_000);
    assert!(out.samples.iter().all(|v| v.is_finite()));

    // One or two audio steps (a random model sometimes stops that early) decode to one or two
    // steps of sound: the codec cannot take fewer than three, so they are padded and cut back.
    let parler = parler::load(&models.voice, &candle::Device::Cpu).unwrap();
    for steps in 1..=4u32 {
        let codes: Vec<u32> = (0..random::CODEBOOKS as u32 * steps)
            .map(|i| i % 7)
            .collect();
        let codes = candle::Tensor::from_vec(
            codes,
            (random::CODEBOOKS, steps as usize),
            &candle::Device::Cpu,
        )
        .unwrap();
        let pcm = parler.decode(&codes).unwrap();
        assert_eq!(pcm.len(), 512 * steps as usize, "{steps} steps");
    }

    // The registry lists the role and its summary counts the weights.
    let loaded = crate::ai::registry::load_voice(&models).unwrap();
    let summary = crate::ai::Model::summary(&loaded);
    assert_eq!(summary.role, "voice");
    assert_eq!(summary.parameters, parameters);
    assert!(models.sources().iter().any(|s| s.role == "voice"));

    // A directory without weights is a load error that names the role and the file.
    std::fs::remove_file(model_dir.join("model.safetensors")).unwrap();
    let err = voice_for(&models).err().unwrap().to_string();
    assert!(
        err.contains("voice") && err.contains("model.safetensors"),
        "{err}"
    );
}

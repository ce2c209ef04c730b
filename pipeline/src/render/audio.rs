//! The program's sound: each item's audio decoded to house-rate stereo, cut or padded to its
//! exact length, faded at both ends, and appended to one temporary file of f32 samples; then
//! the loudness of the whole program and the one gain that corrects it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use ffmpeg_next::{decoder, frame, Packet};

use super::RenderError;
use crate::config::HouseFormat;
use crate::ingest::loudness::{Loudness, LoudnessMeter};
use crate::ingest::normalize::decode::{open_audio_decoder, AudioChain, AudioGain};

/// Bytes of one stereo f32 sample pair.
const PAIR: u64 = 8;

/// The program audio being written: interleaved stereo f32, native endian.
pub(crate) struct ProgramAudio {
    out: BufWriter<File>,
    written: u64,
}

impl ProgramAudio {
    pub(crate) fn create(path: &Path) -> std::io::Result<ProgramAudio> {
        Ok(ProgramAudio {
            out: BufWriter::new(File::create(path)?),
            written: 0,
        })
    }

    /// Samples (per channel) so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    fn push(&mut self, left: f32, right: f32) -> std::io::Result<()> {
        self.out.write_all(&left.to_ne_bytes())?;
        self.out.write_all(&right.to_ne_bytes())?;
        self.written += 1;
        Ok(())
    }

    /// Cuts or pads (with silence) the program to `samples`.
    pub(crate) fn resize(&mut self, samples: u64) -> std::io::Result<()> {
        while self.written < samples {
            self.push(0.0, 0.0)?;
        }
        if self.written > samples {
            self.out.flush()?;
            let file = self.out.get_mut();
            file.set_len(samples * PAIR)?;
            file.seek(SeekFrom::Start(samples * PAIR))?;
            self.written = samples;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> std::io::Result<u64> {
        self.out.flush()?;
        Ok(self.written)
    }
}

/// Reads the program audio back in chunks.
pub(crate) struct ProgramAudioReader {
    input: BufReader<File>,
}

impl ProgramAudioReader {
    pub(crate) fn open(path: &Path) -> std::io::Result<ProgramAudioReader> {
        Ok(ProgramAudioReader {
            input: BufReader::with_capacity(1 << 20, File::open(path)?),
        })
    }

    /// Up to `max` sample pairs, interleaved; empty at the end.
    pub(crate) fn read(&mut self, max: usize) -> std::io::Result<Vec<f32>> {
        let mut bytes = vec![0u8; max * PAIR as usize];
        let mut filled = 0;
        while filled < bytes.len() {
            let n = self.input.read(&mut bytes[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        bytes.truncate(filled - filled % PAIR as usize);
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Integrated loudness and true peak of the whole program audio.
pub(crate) fn measure(path: &Path, house: &HouseFormat) -> Result<Loudness, RenderError> {
    let mut meter = LoudnessMeter::new(2, house.audio_sample_rate)?;
    let mut reader = ProgramAudioReader::open(path)?;
    loop {
        let chunk = reader.read(1 << 16)?;
        if chunk.is_empty() {
            break;
        }
        meter.add_interleaved(&chunk)?;
    }
    Ok(meter.finish())
}

/// The one gain that brings the program to the target when it is outside the tolerance,
/// held down so that the true peak stays under the house maximum.
pub(crate) fn correction(loudness: &Loudness, house: &HouseFormat) -> f64 {
    let Some(integrated) = loudness.integrated_lufs else {
        return 0.0;
    };
    let miss = house.loudness_target - integrated;
    if miss.abs() <= house.loudness_tolerance {
        return 0.0;
    }
    match loudness.true_peak_dbtp {
        Some(peak) if miss > 0.0 => miss.min((house.true_peak_max - peak).max(0.0)),
        _ => miss,
    }
}

/// One item's audio: decoded, converted to house-rate stereo, cut to the item's samples of
/// the source and faded.
pub(crate) struct ItemAudio {
    pub index: usize,
    decoder: decoder::Audio,
    chain: AudioChain,
    /// Source samples out of the chain so far.
    position: u64,
    /// The item's samples of the source: [start, start + len).
    start: u64,
    len: u64,
    fade: u64,
    /// Samples written for this item.
    pub written: u64,
}

impl ItemAudio {
    pub(crate) fn new(
        input: &ffmpeg_next::format::context::Input,
        index: usize,
        house: &HouseFormat,
        (start, len, fade): (u64, u64, u64),
    ) -> Result<ItemAudio, RenderError> {
        let decoder = open_audio_decoder(input, index)?;
        let chain = AudioChain::new(&decoder, house.audio_sample_rate, AudioGain::UNITY)?;
        Ok(ItemAudio {
            index,
            decoder,
            chain,
            position: 0,
            start,
            len,
            fade,
            written: 0,
        })
    }

    pub(crate) fn done(&self) -> bool {
        self.written >= self.len
    }

    pub(crate) fn feed(
        &mut self,
        packet: &Packet,
        out: &mut ProgramAudio,
    ) -> Result<(), RenderError> {
        // A damaged packet is skipped; the item's length is kept by padding at its end.
        let _ = self.decoder.send_packet(packet);
        self.drain(out)
    }

    pub(crate) fn finish(&mut self, out: &mut ProgramAudio) -> Result<(), RenderError> {
        let _ = self.decoder.send_eof();
        self.drain(out)?;
        self.chain.finish()?;
        self.pull(out)
    }

    fn drain(&mut self, out: &mut ProgramAudio) -> Result<(), RenderError> {
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            self.chain.push(&mut decoded)?;
        }
        self.pull(out)
    }

    fn pull(&mut self, out: &mut ProgramAudio) -> Result<(), RenderError> {
        while let Some(samples) = self.chain.pull() {
            let (left, right) = (samples.plane::<f32>(0), samples.plane::<f32>(1));
            for i in 0..samples.samples() {
                let source = self.position + i as u64;
                if source < self.start || source >= self.start + self.len {
                    continue;
                }
                let g = super::graphics::fade_level(source - self.start, self.len, self.fade);
                out.push(left[i] * g, right[i] * g)?;
                self.written += 1;
            }
            self.position += samples.samples() as u64;
        }
        Ok(())
    }
}

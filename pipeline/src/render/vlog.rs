//! The program's video between the assembly and the mux: a plain log of length-prefixed H.264
//! packets with their timestamps in program frames. No container in between, so nothing
//! rounds or reorders a timestamp.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// One video packet; times in frames of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VideoPacket {
    pub pts: i64,
    pub dts: i64,
    pub key: bool,
    pub data: Vec<u8>,
}

pub(crate) struct VideoLogWriter {
    out: BufWriter<File>,
    /// Packets written: the decode order.
    count: i64,
    /// The house encoder's reorder delay, frames.
    delay: i64,
    /// Packets shown before their decode time would allow (a source with another delay).
    pub order_errors: u64,
}

impl VideoLogWriter {
    /// `delay`: the reorder delay of the house encoder (its `has_b_frames`).
    pub(crate) fn create(path: &Path, delay: i64) -> std::io::Result<VideoLogWriter> {
        Ok(VideoLogWriter {
            out: BufWriter::new(File::create(path)?),
            count: 0,
            delay,
            order_errors: 0,
        })
    }

    /// Appends `packet`; its decode time is set here: packets are written in decode order,
    /// one per frame, and every stretch (copied or encoded) has the house encoder's delay, so
    /// the k-th packet decodes at frame k − delay.
    pub(crate) fn write(&mut self, mut packet: VideoPacket) -> std::io::Result<()> {
        packet.dts = self.count - self.delay;
        self.count += 1;
        if packet.pts < packet.dts {
            self.order_errors += 1;
        }
        self.out.write_all(&packet.pts.to_le_bytes())?;
        self.out.write_all(&packet.dts.to_le_bytes())?;
        self.out.write_all(&[u8::from(packet.key)])?;
        self.out
            .write_all(&(packet.data.len() as u32).to_le_bytes())?;
        self.out.write_all(&packet.data)
    }

    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

pub(crate) struct VideoLogReader {
    input: BufReader<File>,
}

impl VideoLogReader {
    pub(crate) fn open(path: &Path) -> std::io::Result<VideoLogReader> {
        Ok(VideoLogReader {
            input: BufReader::new(File::open(path)?),
        })
    }

    /// The next packet, `None` at the end.
    pub(crate) fn next_packet(&mut self) -> std::io::Result<Option<VideoPacket>> {
        let mut head = [0u8; 21];
        match self.input.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let word = |r: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[r]);
            i64::from_le_bytes(b)
        };
        let len = u32::from_le_bytes([head[17], head[18], head[19], head[20]]) as usize;
        let mut data = vec![0u8; len];
        self.input.read_exact(&mut data)?;
        Ok(Some(VideoPacket {
            pts: word(0..8),
            dts: word(8..16),
            key: head[16] != 0,
            data,
        }))
    }
}

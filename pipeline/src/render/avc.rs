//! H.264 bitstream plumbing for mixing copied and re-encoded stretches in one stream: every
//! packet of the master is length-prefixed (AVCC, 4-byte lengths, as MP4 and Matroska store
//! them), and a source is copied only when its SPS and PPS are byte for byte the master's.

/// The SPS and PPS NAL units of codec extradata, in either avcC or Annex B form.
pub(crate) fn parameter_sets(extradata: &[u8]) -> Option<Vec<Vec<u8>>> {
    if extradata.first() == Some(&1) {
        return avcc_parameter_sets(extradata);
    }
    let sets: Vec<Vec<u8>> = annexb_nals(extradata)
        .into_iter()
        .filter(|n| matches!(n.first().map(|b| b & 0x1f), Some(7 | 8)))
        .map(<[u8]>::to_vec)
        .collect();
    (!sets.is_empty()).then_some(sets)
}

/// The NAL length size of avcC extradata (4 in everything FFmpeg writes).
pub(crate) fn avcc_length_size(extradata: &[u8]) -> Option<usize> {
    (extradata.first() == Some(&1) && extradata.len() > 4)
        .then(|| usize::from(extradata[4] & 3) + 1)
}

fn avcc_parameter_sets(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut sets = Vec::new();
    let mut pos = 5;
    let sps_count = usize::from(*data.get(pos)? & 0x1f);
    pos += 1;
    for _ in 0..sps_count {
        let (nal, next) = sized(data, pos)?;
        sets.push(nal.to_vec());
        pos = next;
    }
    let pps_count = usize::from(*data.get(pos)?);
    pos += 1;
    for _ in 0..pps_count {
        let (nal, next) = sized(data, pos)?;
        sets.push(nal.to_vec());
        pos = next;
    }
    Some(sets)
}

fn sized(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
    let nal = data.get(pos + 2..pos + 2 + len)?;
    Some((nal, pos + 2 + len))
}

/// The NAL units of an Annex B byte stream (start codes 00 00 01 or 00 00 00 01).
pub(crate) fn annexb_nals(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&next| next - 3);
        // A four-byte start code leaves one zero before the next three.
        while end > start && data[end - 1] == 0 && k + 1 < starts.len() {
            end -= 1;
        }
        if end > start {
            nals.push(&data[start..end]);
        }
    }
    nals
}

/// Whether `data` is exactly a run of 4-byte length-prefixed NAL units: a packet cut short
/// (a truncated file) is not, and must not be copied into the master.
pub(crate) fn avcc_well_formed(data: &[u8]) -> bool {
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(head) = data.get(pos..pos + 4) else {
            return false;
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len == 0 {
            return false;
        }
        pos = pos.saturating_add(4).saturating_add(len);
    }
    pos == data.len() && !data.is_empty()
}

/// An Annex B packet (what libx264 hands out) as 4-byte length-prefixed NAL units.
pub(crate) fn annexb_to_avcc(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for nal in annexb_nals(data) {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// avcC extradata (ISO 14496-15) for the SPS and PPS of `sets`, 4-byte NAL lengths.
pub(crate) fn avcc_extradata(sets: &[Vec<u8>]) -> Option<Vec<u8>> {
    let sps: Vec<&Vec<u8>> = sets.iter().filter(|n| n[0] & 0x1f == 7).collect();
    let pps: Vec<&Vec<u8>> = sets.iter().filter(|n| n[0] & 0x1f == 8).collect();
    let first = sps.first().filter(|s| s.len() >= 4)?;
    let mut out = vec![
        1,
        first[1],
        first[2],
        first[3],
        0xff,
        0xe0 | sps.len() as u8,
    ];
    for s in &sps {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.push(pps.len() as u8);
    for p in &pps {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    if matches!(first[1], 100 | 110 | 122 | 144) {
        // High profiles: 4:2:0, 8-bit, no SPS extensions.
        out.extend_from_slice(&[0xfc | 1, 0xf8, 0xf8, 0]);
    }
    Some(out)
}

/// Extradata of a stream's codec parameters.
pub(crate) fn extradata(params: &ffmpeg_next::codec::Parameters) -> Vec<u8> {
    // SAFETY: `extradata` holds `extradata_size` bytes while `params` lives.
    unsafe {
        let p = &*params.as_ptr();
        if p.extradata.is_null() || p.extradata_size <= 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts(p.extradata, p.extradata_size as usize).to_vec()
    }
}

/// Replaces the extradata of an output stream's codec parameters.
pub(crate) fn set_extradata(stream: &mut ffmpeg_next::format::stream::StreamMut, bytes: &[u8]) {
    use ffmpeg_next::ffi;
    // SAFETY: codecpar belongs to the stream; the buffer is allocated with FFmpeg's
    // allocator (with the required zeroed padding) so that FFmpeg frees it.
    unsafe {
        let par = (*stream.as_mut_ptr()).codecpar;
        if !(*par).extradata.is_null() {
            ffi::av_freep(std::ptr::addr_of_mut!((*par).extradata).cast());
        }
        let size = bytes.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
        let buf = ffi::av_mallocz(size).cast::<u8>();
        if buf.is_null() {
            (*par).extradata_size = 0;
            return;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        (*par).extradata = buf;
        (*par).extradata_size = bytes.len() as i32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_and_avcc_agree_on_parameter_sets() {
        let sps = vec![0x67, 100, 0, 12, 0xac, 0xd9];
        let pps = vec![0x68, 0xeb, 0xe3, 0xcb];
        let mut annexb = vec![0, 0, 0, 1];
        annexb.extend_from_slice(&sps);
        annexb.extend_from_slice(&[0, 0, 1]);
        annexb.extend_from_slice(&pps);
        let from_annexb = parameter_sets(&annexb).unwrap();
        assert_eq!(from_annexb, vec![sps.clone(), pps.clone()]);
        let avcc = avcc_extradata(&from_annexb).unwrap();
        assert_eq!(avcc_length_size(&avcc), Some(4));
        assert_eq!(parameter_sets(&avcc).unwrap(), vec![sps, pps]);
    }

    #[test]
    fn annexb_packets_become_length_prefixed() {
        let packet = [0, 0, 0, 1, 0x65, 1, 2, 0, 0, 1, 0x41, 9];
        let avcc = annexb_to_avcc(&packet);
        assert_eq!(avcc, vec![0, 0, 0, 3, 0x65, 1, 2, 0, 0, 0, 2, 0x41, 9]);
        assert!(avcc_well_formed(&avcc));
        assert!(!avcc_well_formed(&avcc[..avcc.len() - 1]));
    }
}

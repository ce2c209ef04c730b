//! Writing a card as a *segment file*: Matroska with one H.264 stream in the house format
//! (libx264 High, yuv420p, closed GOP of the house length, first frame a keyframe, exactly
//! `frames` frames) and one PCM s16le stereo stream at the house rate with exactly
//! `frames × samples_per_frame` samples. A card is one still picture, converted once.

use std::path::Path;

use ffmpeg_next::software::scaling;
use ffmpeg_next::{codec, encoder, format, frame, ChannelLayout, Dictionary, Packet, Rational};
use image::RgbImage;

use super::CardError;
use crate::config::HouseFormat;

fn ff(what: &str, e: ffmpeg_next::Error) -> CardError {
    CardError::Encode(format!("{what}: {e}"))
}

/// Writes `picture` for `frames` frames with `audio` (interleaved stereo f32 at the house rate,
/// exactly `frames × samples_per_frame` per channel) to `out`.
pub fn write_still(
    out: &Path,
    house: &HouseFormat,
    picture: &RgbImage,
    frames: u32,
    audio: &[f32],
) -> Result<(), CardError> {
    crate::ingest::init_ffmpeg();
    let spf = house.samples_per_frame() as usize;
    if audio.len() != frames as usize * spf * 2 {
        return Err(CardError::Encode(format!(
            "audio holds {} stereo samples, the card needs {}",
            audio.len() / 2,
            frames as usize * spf
        )));
    }
    let mut octx = format::output_as(out, "matroska").map_err(|e| ff("create output", e))?;
    let global = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut video = open_video(&mut octx, house, global)?;
    let mut pcm = open_pcm(&mut octx, house, global)?;
    octx.write_header().map_err(|e| ff("write header", e))?;
    let tb = |i: usize| {
        octx.stream(i)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, 1))
    };
    let (video_tb, audio_tb) = (tb(0), tb(1));

    let yuv = to_yuv(picture, house)?;
    let mut audio_frame = frame::Audio::new(
        format::Sample::I16(format::sample::Type::Packed),
        spf,
        ChannelLayout::STEREO,
    );
    audio_frame.set_rate(house.audio_sample_rate);
    for n in 0..frames as usize {
        let mut pic = yuv.clone();
        pic.set_pts(Some(n as i64));
        pic.set_kind(if n == 0 {
            ffmpeg_next::picture::Type::I
        } else {
            ffmpeg_next::picture::Type::None
        });
        video.send_frame(&pic).map_err(|e| ff("video encoder", e))?;
        drain(&mut video, &mut octx, 0, video_tb, true)?;

        let block = &audio[n * spf * 2..(n + 1) * spf * 2];
        let data = audio_frame.data_mut(0);
        for (i, s) in block.iter().enumerate() {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            data[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
        }
        audio_frame.set_pts(Some((n * spf) as i64));
        pcm.send_frame(&audio_frame)
            .map_err(|e| ff("PCM encoder", e))?;
        drain(&mut pcm, &mut octx, 1, audio_tb, false)?;
    }
    video.send_eof().map_err(|e| ff("video flush", e))?;
    drain(&mut video, &mut octx, 0, video_tb, true)?;
    pcm.send_eof().map_err(|e| ff("PCM flush", e))?;
    drain(&mut pcm, &mut octx, 1, audio_tb, false)?;
    octx.write_trailer().map_err(|e| ff("write trailer", e))
}

fn drain(
    enc: &mut encoder::Encoder,
    octx: &mut format::context::Output,
    stream: usize,
    stream_tb: Rational,
    one_frame: bool,
) -> Result<(), CardError> {
    let tb = enc.time_base();
    let mut packet = Packet::empty();
    while enc.receive_packet(&mut packet).is_ok() {
        packet.set_stream(stream);
        if one_frame {
            packet.set_duration(1);
        }
        packet.rescale_ts(tb, stream_tb);
        packet
            .write_interleaved(octx)
            .map_err(|e| ff("write packet", e))?;
    }
    Ok(())
}

fn to_yuv(picture: &RgbImage, house: &HouseFormat) -> Result<frame::Video, CardError> {
    let (w, h) = (house.width, house.height);
    if picture.dimensions() != (w, h) {
        return Err(CardError::Encode(format!(
            "the card is {}x{}, the house format {w}x{h}",
            picture.width(),
            picture.height()
        )));
    }
    let mut rgb = frame::Video::new(format::Pixel::RGB24, w, h);
    let stride = rgb.stride(0);
    let row = w as usize * 3;
    for y in 0..h as usize {
        rgb.data_mut(0)[y * stride..y * stride + row]
            .copy_from_slice(&picture.as_raw()[y * row..(y + 1) * row]);
    }
    let mut sws = scaling::Context::get(
        format::Pixel::RGB24,
        w,
        h,
        format::Pixel::YUV420P,
        w,
        h,
        scaling::Flags::BICUBIC,
    )
    .map_err(|e| ff("colour conversion", e))?;
    let mut yuv = frame::Video::empty();
    sws.run(&rgb, &mut yuv)
        .map_err(|e| ff("colour conversion", e))?;
    Ok(yuv)
}

fn open_video(
    octx: &mut format::context::Output,
    house: &HouseFormat,
    global: bool,
) -> Result<encoder::video::Encoder, CardError> {
    let codec = encoder::find_by_name("libx264")
        .ok_or_else(|| CardError::Encode("the libx264 encoder is not available".into()))?;
    let mut ost = octx.add_stream(codec).map_err(|e| ff("add video", e))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| ff("video encoder", e))?;
    enc.set_width(house.width);
    enc.set_height(house.height);
    enc.set_format(format::Pixel::YUV420P);
    enc.set_time_base(Rational(1, house.fps as i32));
    enc.set_frame_rate(Some(Rational(house.fps as i32, 1)));
    enc.set_aspect_ratio(Rational(1, 1));
    enc.set_gop(house.gop_frames());
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let g = house.gop_frames();
    let mut options = Dictionary::new();
    options.set("preset", &house.x264_preset);
    options.set("profile", "high");
    options.set("threads", "2");
    options.set(
        "x264-params",
        &format!(
            "keyint={g}:min-keyint={g}:scenecut=0:open-gop=0:8x8dct=1:cabac=1:crf={}:vbv-maxrate={}:vbv-bufsize={}",
            house.crf,
            house.video_max_kbps,
            house.video_max_kbps * 2
        ),
    );
    let opened = enc.open_with(options).map_err(|e| ff("open libx264", e))?;
    ost.set_parameters(&opened);
    ost.set_time_base(Rational(1, house.fps as i32));
    Ok(opened)
}

fn open_pcm(
    octx: &mut format::context::Output,
    house: &HouseFormat,
    global: bool,
) -> Result<encoder::audio::Encoder, CardError> {
    let codec = encoder::find(codec::Id::PCM_S16LE)
        .ok_or_else(|| CardError::Encode("the PCM encoder is not available".into()))?;
    let mut ost = octx.add_stream(codec).map_err(|e| ff("add audio", e))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(|e| ff("PCM encoder", e))?;
    enc.set_rate(house.audio_sample_rate as i32);
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_format(format::Sample::I16(format::sample::Type::Packed));
    enc.set_time_base(Rational(1, house.audio_sample_rate as i32));
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let opened = enc.open_as(codec).map_err(|e| ff("open PCM encoder", e))?;
    ost.set_parameters(&opened);
    ost.set_time_base(Rational(1, house.audio_sample_rate as i32));
    Ok(opened)
}

//! `gala bench upload`: one large file through the studio's tus endpoint (creation, then PATCH
//! chunks read from disk one at a time), against copying the same file on the same disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use gala_pipeline::ingest::clips;
use gala_pipeline::storage::sha256_file;
use gala_pipeline::Config;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::studio::{self, ok, TUS};

const MIB: u64 = 1 << 20;

pub async fn bench_upload(
    config: Config,
    data_dir: Option<PathBuf>,
    size_mb: u64,
    chunk_mb: u64,
) -> anyhow::Result<ExitCode> {
    let (size, chunk) = (size_mb * MIB, chunk_mb.max(1) * MIB);
    let app = studio::start(config, data_dir, size).await?;
    let dir = app.state.engine.config.data_dir.join("bench-upload");
    std::fs::create_dir_all(&dir)?;
    let source = dir.join("source.bin");
    println!("upload bench: {size_mb} MiB in tus PATCH chunks of {chunk_mb} MiB");

    let (src, s) = (source.clone(), size);
    let digest = tokio::task::spawn_blocking(move || generate(&src, s)).await??;
    let (src, copy) = (source.clone(), dir.join("copy.bin"));
    let copy_s = tokio::task::spawn_blocking(move || copy_fsync(&src, &copy)).await??;

    app.creators(1).await?;
    let client = studio::browser();
    let email = "creator00000@bench.example.org";
    let token = studio::csrf(&client, &app.base).await?;
    let token = studio::login(&client, &app.base, email, &token).await?;
    let submission = studio::create_submission(&client, &app.base, &token, "Big file").await?;

    let t = Instant::now();
    let created = client
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", &token)
        .header("Upload-Length", size.to_string())
        .header("Upload-Metadata", studio::metadata("big.mp4", submission))
        .send()
        .await?;
    let created = ok(created).await?;
    let location = created
        .headers()
        .get("location")
        .context("no Location")?
        .to_str()?
        .to_string();
    let upload_url = if location.starts_with('/') {
        app.url(&location)
    } else {
        location
    };
    let mut file = tokio::fs::File::open(&source).await?;
    let (mut offset, mut last_chunk_s) = (0u64, 0.0);
    while offset < size {
        let n = chunk.min(size - offset);
        let mut buf = vec![0u8; n as usize];
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        file.read_exact(&mut buf).await?;
        let tc = Instant::now();
        let r = client
            .patch(&upload_url)
            .header("Tus-Resumable", TUS)
            .header("X-CSRF-Token", &token)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(buf)
            .send()
            .await?;
        let r = ok(r).await?;
        last_chunk_s = tc.elapsed().as_secs_f64();
        let got: u64 = r
            .headers()
            .get("upload-offset")
            .context("no Upload-Offset")?
            .to_str()?
            .parse()?;
        if got != offset + n {
            bail!("server is at offset {got}, expected {}", offset + n);
        }
        offset = got;
    }
    let upload_s = t.elapsed().as_secs_f64();

    let upload_id = upload_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let engine = &app.state.engine;
    let clip_id = clips::find_by_upload(&engine.db, &upload_id)
        .await?
        .context("the finished upload made no clip")?;
    let clip = clips::get(&engine.db, clip_id).await?.context("no clip")?;
    let stored = engine.store.local_path(&clip.source_sha256)?;
    let stored_digest = tokio::task::spawn_blocking(move || sha256_file(&stored)).await??;
    let verified = stored_digest == digest && clip.source_sha256 == digest;

    let mb = size as f64 / MIB as f64;
    println!(
        "tus upload: {upload_s:6.2} s  {:8.1} MiB/s  (creation + {} PATCHes; the last one, {:.2} s, \
         includes the hand-off: hashing into the media store, clip row, queued probe job)",
        mb / upload_s,
        size.div_ceil(chunk),
        last_chunk_s
    );
    let n_last = (size - 1) % chunk + 1;
    if size > n_last {
        println!(
            "  without the last PATCH (hand-off): {:8.1} MiB/s",
            (size - n_last) as f64 / MIB as f64 / (upload_s - last_chunk_s)
        );
    }
    println!(
        "copy+fsync: {copy_s:6.2} s  {:8.1} MiB/s  (std::fs::copy of the same file on the same disk, then fsync)",
        mb / copy_s
    );
    println!(
        "ratio upload/copy: {:.2} (1.0 would be disk speed)",
        copy_s / upload_s
    );
    println!(
        "stored bytes sha256 {} the source's ({digest})",
        if verified { "equals" } else { "DIFFERS FROM" }
    );
    drop(client);
    std::fs::remove_file(&source).ok();
    app.stop().await?;
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes `size` bytes of incompressible data to `path`, fsyncs it and returns its sha256.
fn generate(path: &Path, size: u64) -> anyhow::Result<String> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = vec![0u8; MIB as usize];
    let mut written = 0;
    while written < size {
        let n = (size - written).min(MIB) as usize;
        studio::fill(&mut buf[..n], written / MIB + 1);
        out.write_all(&buf[..n])?;
        written += n as u64;
    }
    out.into_inner()?.sync_all()?;
    sha256_file(path)
}

/// Copies `from` to `to` and fsyncs the copy; returns the seconds it took. The copy is removed.
fn copy_fsync(from: &Path, to: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()?;
    let s = t.elapsed().as_secs_f64();
    std::fs::remove_file(to)?;
    Ok(s)
}

//! The S3 media store against a real S3 server (s3s-fs, started here): objects put from one
//! node are read on another through its own cache; large files go up in parts and come back
//! whole; a corrupt or missing object is a clear error, never a wrong file; a server that is
//! down is an error that names it, and the store works again once it is back.

use std::io::Write;

use super::media::{sha256_file, MediaStore};
use super::s3::{S3Config, S3Store};
use super::s3_server::S3Server;

fn node(server: &S3Server, cache: &std::path::Path) -> S3Store {
    S3Store::open(&server.config(), cache.to_path_buf()).unwrap()
}

/// `len` bytes that do not repeat in any way a store could shortcut.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn key_of(digest: &str) -> String {
    format!("media/{}/{}/{digest}", &digest[0..2], &digest[2..4])
}

#[test]
fn two_nodes_share_objects_through_the_bucket() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        node(&server, &dir.path().join("a")),
        node(&server, &dir.path().join("b")),
    );

    // 12 MiB: three parts of 5 MiB on the way up.
    let big = dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .write_all(&noise(12 << 20))
        .unwrap();
    let digest = a.put_file(&big).unwrap();
    assert_eq!(digest, sha256_file(&big).unwrap());
    assert_eq!(
        std::fs::metadata(server.object_file(&key_of(&digest)))
            .unwrap()
            .len(),
        12 << 20,
        "the server holds the whole object"
    );
    assert!(b.exists(&digest).unwrap());
    assert_eq!(b.size(&digest).unwrap(), 12 << 20);
    let read = b.local_path(&digest).unwrap();
    assert!(read.starts_with(dir.path().join("b")), "{}", read.display());
    assert_eq!(sha256_file(&read).unwrap(), digest);

    // Idempotent, and small objects too.
    assert_eq!(a.put_file(&big).unwrap(), digest);
    let small = b.put_bytes(b"a poster").unwrap();
    assert_eq!(
        std::fs::read(a.local_path(&small).unwrap()).unwrap(),
        b"a poster"
    );

    // Missing and malformed digests.
    let missing = "0".repeat(64);
    assert!(!a.exists(&missing).unwrap());
    let err = format!("{:#}", a.local_path(&missing).unwrap_err());
    assert!(err.contains("missing"), "{err}");
    assert!(a.exists("../../etc/passwd").is_err());
}

#[test]
fn a_corrupt_object_is_refused_not_served() {
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&server, &dir.path().join("a"));
    let digest = a.put_bytes(&noise(100_000)).unwrap();
    // Damaged in the bucket after the upload (bit rot, a bad copy).
    let file = server.object_file(&key_of(&digest));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[50_000] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let b = node(&server, &dir.path().join("b"));
    let err = format!("{:#}", b.local_path(&digest).unwrap_err());
    assert!(err.contains("corrupt"), "{err}");
    // Nothing wrong was cached: asking again fails again.
    assert!(b.local_path(&digest).is_err());
}

#[test]
fn a_server_that_is_down_is_a_clear_error_and_the_store_recovers() {
    let mut server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&server, &dir.path().join("a"));
    server.stop();
    let mut quick = server.config();
    quick.timeout_s = 2;
    let err = format!(
        "{:#}",
        S3Store::open(&quick, dir.path().join("c")).unwrap_err()
    );
    assert!(err.contains("does not answer"), "{err}");
    server.restart();
    let digest = a.put_bytes(b"after the restart").unwrap();
    assert!(a.exists(&digest).unwrap());

    // Wrong credentials and a missing bucket are refused when the store opens.
    let wrong = S3Config {
        secret_access_key: "not the secret".into(),
        ..server.config()
    };
    assert!(S3Store::open(&wrong, dir.path().join("d")).is_err());
    let nobucket = S3Config {
        bucket: "no-such-bucket".into(),
        ..server.config()
    };
    assert!(S3Store::open(&nobucket, dir.path().join("e")).is_err());
}

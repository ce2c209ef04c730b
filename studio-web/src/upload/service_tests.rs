use std::sync::atomic::{AtomicI64, Ordering::SeqCst};

use super::*;

/// A service on its own SQLite database whose clock the test moves.
async fn service(dir: &std::path::Path) -> (UploadService, Arc<AtomicI64>) {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.uploads.allowed_types.clear();
    let db = Db::connect(&config.database_url(), 2).await.unwrap();
    let now = Arc::new(AtomicI64::new(1_000_000_000));
    let clock = {
        let now = now.clone();
        Arc::new(move || now.load(SeqCst)) as Clock
    };
    let on_complete: OnComplete = Arc::new(|_| Box::pin(async { Ok(()) }));
    let svc = UploadService::new(db, Arc::new(config), on_complete).with_clock(clock);
    (svc, now)
}

/// Work on the shared store (rebuilding or sharing a part file) that outlasts the writer's
/// lock keeps it: no other writer can take the upload meanwhile. Once nobody renews it, the
/// lock lapses as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_shared_store_work_keeps_the_writer_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, now) = service(dir.path()).await;
    let owner = UploadOwner { user_id: 1 };
    let row = svc.create(owner, 10, &Metadata::default()).await.unwrap();
    let Ok(Claim::Locked(lock, _)) = svc.lock(&row.id, owner, 0).await else {
        panic!("the first writer gets the lock");
    };
    // The store takes longer than the lock lasts (20 s on the service's clock): the renewal
    // every 5 s (real time) must carry the lock past the point where it would have lapsed.
    let clock = now.clone();
    let slow = async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        clock.fetch_add(LOCK_LEASE_MS - 1_000, SeqCst);
        tokio::time::sleep(LOCK_RENEW + Duration::from_millis(500)).await;
        clock.fetch_add(15_000, SeqCst);
        anyhow::Ok(())
    };
    svc.holding(&lock, slow).await.unwrap();
    assert!(
        matches!(svc.lock(&row.id, owner, 0).await, Err(UploadError::Locked)),
        "34 s after it was taken, the renewed lock still holds"
    );
    now.fetch_add(LOCK_LEASE_MS, SeqCst);
    assert!(
        matches!(svc.lock(&row.id, owner, 0).await, Ok(Claim::Locked(..))),
        "not renewed, it lapses"
    );
    lock.disarm();
}

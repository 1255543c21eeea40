//! A full disk: the database on a 3 MB tmpfs takes 30,000 events. While writes fail the
//! replica stays not ready and acks nothing it did not commit; once space returns every
//! event is applied, it is ready again and the WAL is back under its bound. Prints the
//! time not ready and the WAL's peak and final size.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::{Model, Replica, StoreKind, Tmpfs, Workload};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::eventually;

const EVENTS: usize = 30_000;
/// The SQLite adapter's `journal_size_limit`, over which an idle writer truncates the WAL.
const WAL_BOUND: u64 = 4 * 1024 * 1024;
/// How long readiness must stay false while the disk is full: a few of the replica's
/// store pings (every 2 s), which is where it used to flip.
const HELD_NOT_READY: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_the_replica_not_ready_and_loses_nothing_once_space_returns() {
    let _one_at_a_time = HEAVY.lock().await;
    let disk = match Tmpfs::mount("3m") {
        Ok(disk) => disk,
        Err(why) => {
            println!("full_disk: skipped, no tmpfs to fill: {why}");
            return;
        }
    };
    let mut stage = Stage::new(StoreKind::Sqlite).await;
    let database = disk.path().join("alarms.db");
    stage.env.store_url = format!("sqlite://{}", database.display());
    let wal = disk.path().join("alarms.db-wal");
    let replica = Replica::start(&stage.env).await;
    let wal_peak = WalPeak::sample(wal.clone());

    let mut w = Workload::seeded("full_disk");
    let events = w.events(100, 100, EVENTS);
    let mut model = Model::default();
    model.record(&events);
    stage.bus.publish_events(&events).await;

    // Writes fail: readiness turns false with the store as the reason.
    replica
        .wait_readyz("not ready for the store", PATIENCE, |status, body| {
            status == 503 && body.contains(r#""store":"unavailable""#)
        })
        .await;
    let full_since = Instant::now();
    let mut polls = 0;
    while full_since.elapsed() < HELD_NOT_READY {
        let (status, body) = replica.get("/readyz").await;
        assert_eq!(status, 503, "ready again while the disk is still full: {body}");
        polls += 1;
        // Sampling readiness over time is the point here; there is no event to await.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Acks only follow commits: read the acks first, the store's count after, so the
    // count can only have grown since.
    let (pending, unacked) = stage.bus.consumer_state().await;
    let acked = EVENTS as u64 - pending - unacked;
    let committed = events_received(&replica).await;
    assert!(acked <= committed, "{acked} acked but only {committed} committed");
    assert!(
        acked < EVENTS as u64,
        "everything was acked before the disk filled; this test proves nothing"
    );
    let (_, body) = replica.get("/readyz").await;
    println!(
        "full_disk: full after {committed} of {EVENTS} events ({acked} acked), WAL peak {} KiB; /readyz: {body}",
        wal_peak.so_far() / 1024
    );

    disk.resize("64m");
    let back_after = replica.wait_readiness(true, PATIENCE).await;
    let not_ready_for = full_since.elapsed();
    stage.bus.wait_drained(PATIENCE).await;

    let counts = counts(&replica).await;
    assert_eq!(
        counts["EventsReceived"], EVENTS as u64,
        "every event applied once: {counts:?}"
    );
    assert_eq!(counts["Alarms"], model.alarms() as u64, "seed {}", w.seed);
    assert_eq!(counts["ActiveAlarms"], model.active_alarms() as u64, "seed {}", w.seed);
    let wal_final = wait_for_wal_under(&wal, WAL_BOUND, PATIENCE).await;
    println!(
        "full_disk: not ready for {:.1}s ({polls} polls while full, all 503; ready {:.1}s after \
         space returned); WAL peak {} KiB, final {} KiB (bound {} KiB); database {} KiB",
        not_ready_for.as_secs_f64(),
        back_after.as_secs_f64(),
        wal_peak.so_far() / 1024,
        wal_final / 1024,
        WAL_BOUND / 1024,
        file_size(&database) / 1024,
    );
    // The replica lets go of its files before the tmpfs is unmounted.
    drop(replica);
}

/// The largest size the WAL file was seen at, sampled in the background.
struct WalPeak {
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl WalPeak {
    fn sample(wal: PathBuf) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&peak);
        let sampler = tokio::spawn(async move {
            loop {
                seen.fetch_max(file_size(&wal), Ordering::Relaxed);
                // A file's size has no notification; sample it.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self { peak, sampler }
    }

    fn so_far(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for WalPeak {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

async fn counts(replica: &Replica) -> std::collections::HashMap<String, u64> {
    let (status, body) = replica.get("/v1/counts").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn events_received(replica: &Replica) -> u64 {
    counts(replica).await["EventsReceived"]
}

/// Polls the WAL's size until it is at most `bound` (the writer truncates it once idle).
async fn wait_for_wal_under(wal: &Path, bound: u64, timeout: Duration) -> u64 {
    // The file's size has no notification; poll it.
    eventually(format!("the WAL to shrink to {bound} bytes"), timeout, || async {
        let size = file_size(wal);
        match size <= bound {
            true => Ok(size),
            false => Err(format!("still {size} bytes")),
        }
    })
    .await
}

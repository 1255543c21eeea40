//! A churn soak: hundreds of thousands of distinct alarm ids go active then cleared, with
//! retention and tombstone lifetimes of seconds. The store's row counts and file size
//! plateau, late events for removed alarms stay stale, and every alarm left active is
//! delivered exactly once. `CHURN_ROUNDS` (default 10) rounds of `IDS_PER_ROUND` ids.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::{DigestLog, Model, Replica, StoreKind, TestEvent, Workload};
use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::eventually;

const USERS: usize = 50;
/// Distinct alarm ids that go active and then clear in one round.
const IDS_PER_ROUND: usize = 20_000;
/// Of each round's last ids, how many get a late WARNING older than their clear.
const LATE_PER_ROUND: usize = 500;
/// Rounds that fill the store to its working size; later ones must not grow it further.
const WARM_UP_ROUNDS: usize = 4;
/// The stale-events counter.
const STALE: &str = "alarm_digest_messages_total{subject=\"AlarmStatusChanged\",outcome=\"stale\"}";
/// How fast the database file may still grow after warm-up, as a share of how fast it grew
/// during warm-up. A store that keeps every alarm grows by a round's worth each round (a
/// share near 1); one that retention keeps flat only rises when its live set reaches a new
/// high (the tombstones of the last `RETAIN_TOMBSTONES` vary with how fast rounds go), and
/// free pages are reused, so its growth per round after warm-up is a small share.
const PLATEAU_SHARE: f64 = 0.5;

/// The least-squares slope of `sizes` over their index: bytes per round.
fn growth_per_round(sizes: &[u64]) -> f64 {
    let n = sizes.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = sizes.iter().sum::<u64>() as f64 / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in sizes.iter().enumerate() {
        num += (x as f64 - mean_x) * (*y as f64 - mean_y);
        den += (x as f64 - mean_x).powi(2);
    }
    num / den
}

/// The store's totals from `/v1/counts`.
#[derive(Debug, Clone, Copy)]
struct Totals {
    alarms: u64,
    active: u64,
    tombstones: u64,
    removed: u64,
}

async fn totals(replica: &Replica) -> Totals {
    let (status, body) = replica.get("/v1/counts").await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {body}"));
    Totals {
        alarms: n("Alarms"),
        active: n("ActiveAlarms"),
        tombstones: n("Tombstones"),
        removed: n("RemovedAlarms"),
    }
}

/// Polls the counts until `pred` holds; the sweep runs on its own timer, so there is no
/// event of it to await from outside.
async fn wait_totals(replica: &Replica, what: &str, pred: impl Fn(&Totals) -> bool) -> Totals {
    eventually(what, PATIENCE, || async {
        let now = totals(replica).await;
        match pred(&now) {
            true => Ok(now),
            false => Err(format!("{now:?}")),
        }
    })
    .await
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn database_path(store_url: &str) -> PathBuf {
    PathBuf::from(store_url.strip_prefix("sqlite://").expect("an SQLite store"))
}

/// How far apart an alarm's two events may arrive: events are shuffled within windows of
/// this many, so a clear often arrives before its WARNING, as agents' events do.
const DISORDER: usize = 2_000;

fn user(i: usize) -> String {
    format!("churn-user-{}", i % USERS)
}

/// When round `r`'s id `i` turned WARNING; it cleared a nanosecond later.
fn warned_at(r: usize, i: usize) -> i64 {
    1_700_000_000_000_000_000 + (r * 10 * IDS_PER_ROUND + 2 * i) as i64
}

/// One round's events: each churned id WARNING then CLEARED, shuffled within windows, and
/// one alarm per user that stays active.
fn round(w: &mut Workload, r: usize) -> Vec<TestEvent> {
    let mut events = Vec::with_capacity(2 * IDS_PER_ROUND + USERS);
    for u in 0..USERS {
        events.push(TestEvent::new(
            &user(u),
            &format!("r{r}-kept"),
            "CRITICAL",
            warned_at(r, 0),
        ));
    }
    for i in 0..IDS_PER_ROUND {
        let (u, a) = (user(i), format!("r{r}-a{i}"));
        events.push(TestEvent::new(&u, &a, "WARNING", warned_at(r, i)));
        events.push(TestEvent::new(&u, &a, "CLEARED", warned_at(r, i) + 1));
    }
    for window in events.chunks_mut(DISORDER) {
        w.shuffle(window);
    }
    events
}

/// WARNINGs older than their clears for some of round `r`'s last ids, which were just
/// removed: their tombstones must keep them stale.
fn late(w: &mut Workload, r: usize) -> Vec<TestEvent> {
    (0..LATE_PER_ROUND)
        .map(|_| {
            let i = IDS_PER_ROUND - 1 - w.below(DISORDER as u64) as usize;
            TestEvent::new(&user(i), &format!("r{r}-a{i}"), "WARNING", warned_at(r, i))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_alarm_ids_leave_the_store_flat_and_every_active_alarm_delivered_once() {
    let rounds: usize = std::env::var("CHURN_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .max(WARM_UP_ROUNDS + 2);
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Sqlite).await;
    let db = database_path(&stage.env.store_url);
    let replica = Replica::start_with(
        &stage.env,
        &[
            ("RETAIN_CLEARED", "1s"),
            ("RETAIN_TOMBSTONES", "15s"),
            ("RETENTION_INTERVAL", "200ms"),
            ("RETENTION_BATCH", "5000"),
        ],
    )
    .await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let mut w = Workload::seeded("churn");
    let mut model = Model::default();
    // The file's size after each round from the last of warm-up on.
    let mut plateau = Vec::new();
    let mut peak_tombstones = 0;
    for r in 0..rounds {
        let events = round(&mut w, r);
        model.record(&events);
        stage.bus.publish_events(&events).await;
        stage.bus.wait_drained(PATIENCE).await;
        let kept = ((r + 1) * USERS) as u64;
        let after = wait_totals(&replica, "every cleared alarm removed", |t| t.alarms == kept).await;
        peak_tombstones = peak_tombstones.max(after.tombstones);
        assert_eq!(after.active, kept, "round {r}: only the kept alarms are active");
        assert_eq!(
            after.removed,
            ((r + 1) * IDS_PER_ROUND) as u64,
            "round {r}: each churned id removed once"
        );
        let stale_before = replica.metric(STALE).await;
        let late = late(&mut w, r);
        model.record(&late);
        stage.bus.publish_events(&late).await;
        stage.bus.wait_drained(PATIENCE).await;
        assert_eq!(
            replica.metric(STALE).await - stale_before,
            LATE_PER_ROUND as f64,
            "round {r}: a late event older than a removed alarm's clear is stale"
        );
        assert_eq!(
            totals(&replica).await.alarms,
            kept,
            "round {r}: late events brought nothing back"
        );
        for u in 0..USERS {
            stage.bus.request_digest(&user(u)).await;
        }
        for u in 0..USERS {
            let got = digests.wait_for_user(&user(u), r + 1, PATIENCE).await;
            let alarms: Vec<String> = got[r].alarms.iter().map(|a| a.alarm.clone()).collect();
            assert_eq!(
                alarms,
                [format!("r{r}-kept")],
                "round {r}, {}: the new active alarm, once",
                user(u)
            );
        }
        let (file, wal) = (size(&db), size(&db.with_extension("db-wal")));
        println!(
            "churn: round {r}: {} events, {} stored ({} active), {} tombstones, {} removed; \
             database {} KiB, WAL {} KiB",
            model.events_len(),
            after.alarms,
            after.active,
            after.tombstones,
            after.removed,
            file / 1024,
            wal / 1024
        );
        if r + 1 >= WARM_UP_ROUNDS {
            plateau.push(file);
        }
    }
    // One round's size is a sample of where the live set stood; the trend over the rounds
    // after warm-up is what tells a flat store from a growing one.
    let warm_growth = plateau[0] as f64 / WARM_UP_ROUNDS as f64;
    let growth = growth_per_round(&plateau);
    println!(
        "churn: {} KiB per round during warm-up, {:.0} KiB per round after it",
        warm_growth as u64 / 1024,
        growth / 1024.0
    );
    assert!(
        growth <= warm_growth * PLATEAU_SHARE,
        "the database keeps growing after warm-up: {growth:.0} bytes per round, against {warm_growth:.0} during \
         warm-up; sizes after it: {plateau:?}"
    );
    let end = wait_totals(&replica, "every tombstone expired", |t| t.tombstones == 0).await;
    println!(
        "churn: every tombstone expired (peak {peak_tombstones}); database {} KiB; {} alarms stored",
        size(&db) / 1024,
        end.alarms
    );
    let all = digests.wait_caught_up(&stage.bus, PATIENCE).await;
    model.check(&all).unwrap_or_else(|e| panic!("seed {}: {e}", w.seed));
}

//! Digest schedules and maintenance windows on two real replicas: occurrences every two
//! seconds for fifty users with a replica SIGKILLed midway, occurrences missed while every
//! replica was down, and a maintenance window (ended on time, or early by `PATCH`) holding
//! an alert's paging until it ends.

use super::{Stage, HEAVY, PATIENCE};
use crate::harness::model::DigestMsg;
use crate::harness::trail::judge;
use crate::harness::{levels_and_targets, DigestLog, Model, NotificationLog, Replica, StoreKind, Workload};
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use testkit::{eventually, unique_database, SecantusServer};

/// Every two seconds, in the 6-field form (with seconds).
const EVERY_TWO_SECONDS: &str = "*/2 * * * * *";
/// The occurrences' step.
const STEP: Span = Span::seconds(2);
/// Zones with odd offsets: the schedule is evaluated in each, and fires on the same UTC
/// instants, since every two seconds is every two seconds everywhere.
const ZONES: [&str; 5] = [
    "Europe/Paris",
    "Asia/Kolkata",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

fn schedule_path(user: &str) -> String {
    format!("/v1/users/{user}/digest-schedule")
}

/// PUTs an every-two-seconds schedule that sends empty digests too, so every occurrence
/// shows in the digest stream.
async fn schedule_every_two_seconds(replica: &Replica, user: &str, zone: &str) {
    let body = json!({"time_zone": zone, "cron": EVERY_TWO_SECONDS, "send_empty": true});
    let (status, answer) = replica.call(Method::PUT, &schedule_path(user), Some(&body)).await;
    assert_eq!(status, 201, "{answer}");
}

async fn unschedule(replica: &Replica, user: &str) {
    let (status, answer) = replica.call(Method::DELETE, &schedule_path(user), None).await;
    assert_eq!(status, 204, "{answer}");
}

/// The occurrence a scheduled digest was sent for.
fn occurrence(digest: &DigestMsg) -> Option<DateTime<Utc>> {
    let at = digest.occurrence.as_deref()?;
    Some(
        DateTime::parse_from_rfc3339(at)
            .expect("an RFC 3339 occurrence")
            .to_utc(),
    )
}

/// Each user's scheduled occurrences, in stream order; panics on a digest that names no
/// cause, or a scheduled one without its occurrence.
fn occurrences_by_user(digests: &[DigestMsg]) -> BTreeMap<String, Vec<DateTime<Utc>>> {
    let mut by_user: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for d in digests {
        match d.cause.as_deref() {
            Some("scheduled") => by_user
                .entry(d.user.clone())
                .or_default()
                .push(occurrence(d).unwrap_or_else(|| panic!("a scheduled digest of {} without occurrence", d.user))),
            Some("requested") => {}
            other => panic!("a digest of {} says its cause is {other:?}", d.user),
        }
    }
    by_user
}

/// The first occurrence of an every-two-seconds schedule strictly after `t`.
fn next_even_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = t.timestamp();
    DateTime::from_timestamp(seconds + 2 - seconds.rem_euclid(2), 0).unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_every_two_seconds_send_each_occurrence_once_across_two_replicas_with_one_killed() {
    const USERS: usize = 50;
    const RUN_FOR: Span = Span::seconds(30);
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Mongo).await;
    // A MongoDB-wire server of its own, unless MONGODB_URI names one: the test server all
    // scenarios share, busy with those running beside this one, has given it fewer than
    // 10 digests a second, and these schedules ask for 25.
    let own = testkit::mongo::shared_is_the_test_server().then(SecantusServer::start);
    let mut env = stage.env;
    if let Some(server) = &own {
        env.store_url = server.uri(&unique_database("schedules"));
    }
    let env = env
        .with("SCHEDULE_TICK", "200ms")
        .with("SCHEDULE_CLAIM_TTL", "3s")
        .with("CLAIM_TTL", "3s");
    let mut replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let digests = DigestLog::from_stream(&stage.bus).await;
    let mut w = Workload::seeded("schedules");
    let events = w.events(USERS, 10, 3_000);
    let mut model = Model::default();
    model.record(&events);
    let users = model.users();
    assert_eq!(users.len(), USERS, "the workload names every user");

    // Alarms change while the schedules fire: half before, half after the kill.
    let (early, late) = events.split_at(events.len() / 2);
    stage.bus.publish_events(early).await;
    let mut put = BTreeMap::new();
    for (i, user) in users.iter().enumerate() {
        let before = Utc::now();
        schedule_every_two_seconds(&replicas[i % 2], user, ZONES[i % ZONES.len()]).await;
        put.insert(user.clone(), (before, Utc::now()));
    }
    let scheduled = Utc::now();
    let every_user_reached = |at: DateTime<Utc>| {
        let users = users.clone();
        move |all: &[DigestMsg]| {
            let by_user = occurrences_by_user(all);
            users
                .iter()
                .all(|u| by_user.get(u).is_some_and(|o| o.iter().any(|t| *t >= at)))
        }
    };
    let midway = next_even_second(scheduled + RUN_FOR / 2);
    digests
        .wait_until(PATIENCE, "every user's occurrence half way", every_user_reached(midway))
        .await;
    replicas[0].kill9();
    let killed = Utc::now();
    stage.bus.publish_events(late).await;
    // The survivor takes over the killed replica's claims once they lapse, and carries on.
    let last = next_even_second(scheduled + RUN_FOR);
    digests
        .wait_until(PATIENCE * 2, "every user's last occurrence", every_user_reached(last))
        .await;
    for user in &users {
        unschedule(&replicas[1], user).await;
    }
    let unscheduled = Utc::now();

    stage.bus.wait_drained(PATIENCE * 2).await;
    for user in &users {
        stage.bus.request_digest(user).await;
    }
    stage.bus.wait_drained(PATIENCE * 2).await;
    let seen = digests.wait_caught_up(&stage.bus, PATIENCE).await;
    let all = judge(&stage.bus, &[replicas[1].http_port], &model, &seen, w.seed).await;
    let by_user = occurrences_by_user(&all);
    let mut sent = 0;
    for user in &users {
        let got = &by_user[user];
        let distinct: BTreeSet<_> = got.iter().collect();
        assert_eq!(distinct.len(), got.len(), "{user}: an occurrence sent twice: {got:?}");
        let mut sorted = got.clone();
        sorted.sort();
        let (before, after) = put[user];
        let (first, latest) = (sorted[0], *sorted.last().unwrap());
        assert!(
            first > before && first <= next_even_second(after),
            "{user}: the first occurrence {first} follows its schedule's PUT ({before}..{after})"
        );
        assert!(
            latest >= last && latest <= unscheduled,
            "{user}: the last occurrence {latest}"
        );
        let skipped: Vec<String> = sorted
            .windows(2)
            .filter(|pair| pair[1] - pair[0] != STEP)
            .map(|pair| format!("{} to {}", rfc3339(pair[0]), rfc3339(pair[1])))
            .collect();
        if !skipped.is_empty() {
            let listed: Vec<String> = all
                .iter()
                .filter(|d| d.user == *user)
                .map(|d| {
                    format!(
                        "#{:?} {:?} {:?} {:?} {} alarms",
                        d.sequences,
                        d.id,
                        d.cause,
                        d.occurrence,
                        d.alarms.len()
                    )
                })
                .collect();
            panic!(
                "{user}: occurrences skipped between {skipped:?}; a replica was killed at {}; its digests:\n{}",
                rfc3339(killed),
                listed.join("\n")
            );
        }
        sent += got.len();
    }
    assert_eq!(all.len(), sent + users.len(), "each request answered once besides");
    println!(
        "schedules: {USERS} users every 2 s for {}s, a replica killed at {}: {sent} scheduled digests, \
         each occurrence once, none skipped",
        (unscheduled - scheduled).num_seconds(),
        rfc3339(killed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn occurrences_missed_while_every_replica_was_down_are_sent_as_one_digest_each_on_restart() {
    const USERS: [&str; 5] = ["ann", "bob", "cy", "dee", "eve"];
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Mongo).await;
    let env = stage.env.with("SCHEDULE_TICK", "200ms");
    let mut replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let digests = DigestLog::from_stream(&stage.bus).await;
    for (i, user) in USERS.iter().enumerate() {
        schedule_every_two_seconds(&replicas[i % 2], user, ZONES[i]).await;
    }
    digests
        .wait_until(PATIENCE, "a scheduled digest for every user", |all| {
            let by_user = occurrences_by_user(all);
            USERS.iter().all(|u| by_user.contains_key(*u))
        })
        .await;
    for replica in &mut replicas {
        replica.terminate().await;
    }
    let stopped = Utc::now();
    // What a replica sent while it shut down is in the stream too.
    let sent = occurrences_by_user(&digests.wait_caught_up(&stage.bus, PATIENCE).await);
    let before: Vec<DateTime<Utc>> = USERS.iter().map(|u| *sent[*u].iter().max().unwrap()).collect();
    // Down across three occurrences: the wall clock is what the scenario is about.
    let missed_until = next_even_second(stopped + Span::seconds(5));
    let wait = (missed_until - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(100);
    tokio::time::sleep(wait).await;
    let restarted_at = Utc::now();
    let replica = Replica::start(&env).await;
    let after = digests
        .wait_until(PATIENCE, "a digest for every user after the restart", |all| {
            let by_user = occurrences_by_user(all);
            USERS
                .iter()
                .zip(&before)
                .all(|(u, last)| by_user[*u].iter().any(|t| t > last))
        })
        .await;
    let by_user = occurrences_by_user(&after);
    for (user, last) in USERS.iter().zip(&before) {
        // Every occurrence after the last one sent, up to the restart, was missed.
        let missed: Vec<&DateTime<Utc>> = by_user[*user]
            .iter()
            .filter(|t| *t > last && **t <= restarted_at)
            .collect();
        assert_eq!(
            missed,
            [&(*last + STEP)],
            "{user}: the occurrences missed since {last} are sent once, as the earliest of them"
        );
    }
    // Each digest is counted once it is published: the counter may trail the digest.
    let missed = (2 * USERS.len()) as f64;
    let what = format!("at least {missed} occurrences (two more per user) counted as missed");
    eventually(what, PATIENCE, || async {
        let counted = replica.metric("alarm_digest_schedule_occurrences_missed_total").await;
        match counted >= missed {
            true => Ok(()),
            false => Err(format!("{counted} counted")),
        }
    })
    .await;
}

fn page_once_policy() -> Value {
    json!({"levels": [
        {"targets": [{"type": "email", "address": "a@example.com"}]},
        {"targets": [{"type": "email", "address": "b@example.com"}]},
    ]})
}

/// Opens a window over `services` from a minute ago until `end`; its id.
async fn open_window(replica: &Replica, services: &[&str], end: DateTime<Utc>) -> String {
    let body = json!({"services": services, "start": rfc3339(Utc::now() - Span::minutes(1)),
        "end": end.to_rfc3339(), "created_by": "e2e", "comment": "upgrade"});
    let (status, window) = replica.call(Method::POST, "/v1/maintenance-windows", Some(&body)).await;
    assert_eq!(status, 201, "{window}");
    window["id"].as_str().unwrap().to_string()
}

/// Two replicas and a window over `payments` (and over `marker`, ending `marker_after` its
/// end); an alert during it pages nobody; at its end level 1 is notified once.
async fn held_alert_pages_level_one_once_at_the_window_end(end_early: bool) {
    let _one_at_a_time = HEAVY.lock().await;
    let stage = Stage::new(StoreKind::Mongo).await;
    let env = stage.env.with("ACK_TIMEOUT", "1h").with("PAGER_TICK", "100ms");
    let replicas = [Replica::start(&env).await, Replica::start(&env).await];
    let log = NotificationLog::from_stream(&stage.bus).await;
    for service in ["payments", "marker"] {
        replicas[0].put_policy(service, &page_once_policy()).await;
    }
    let planned_end = Utc::now() + if end_early { Span::hours(1) } else { Span::seconds(4) };
    let window = open_window(&replicas[0], &["payments"], planned_end).await;
    stage.bus.alert("payments").await;
    replicas[1]
        .wait_for_service("payments", PATIENCE, "the incident held", |s| {
            s["Incident"]["HeldUntil"].is_string()
        })
        .await;
    assert!(log.of("payments").is_empty(), "nobody is paged during the window");
    let end = if end_early {
        let end = Utc::now() + Span::seconds(2);
        let change = json!({"end": end.to_rfc3339()});
        let path = format!("/v1/maintenance-windows/{window}");
        let (status, changed) = replicas[1].call(Method::PATCH, &path, Some(&change)).await;
        assert_eq!(status, 200, "{changed}");
        end
    } else {
        planned_end
    };
    let paged = log.wait_for("payments", 1, PATIENCE).await;
    let paged_at = Utc::now();
    assert!(paged_at >= end, "paged at {paged_at}, after the window's end {end}");
    assert_eq!(levels_and_targets(&paged), [(1, "email:a@example.com".to_string())]);
    // A later window's release on the same timers proves both ran past this one's end.
    let marker_end = Utc::now() + Span::seconds(4);
    open_window(&replicas[1], &["marker"], marker_end).await;
    stage.bus.alert("marker").await;
    log.wait_for("marker", 1, PATIENCE).await;
    assert_eq!(log.of("payments").len(), 1, "level 1 once across both replicas");
    // Counted once the release is published: the counter may trail the notification.
    eventually("payments and marker, each released once", PATIENCE, || async {
        let mut released = 0.0;
        for r in &replicas {
            released += r.metric("alarm_digest_incidents_released_total").await;
        }
        match released {
            2.0 => Ok(()),
            _ => Err(format!("{released} released")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_in_a_maintenance_window_pages_nobody_until_it_ends_then_level_one_once() {
    held_alert_pages_level_one_once_at_the_window_end(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_ended_early_by_patch_pages_level_one_once_at_its_new_end() {
    held_alert_pages_level_one_once_at_the_window_end(true).await;
}

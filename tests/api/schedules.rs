//! Digest schedules and maintenance windows over HTTP: made, read, changed and deleted;
//! refused with a 422 naming the field; a window holding an incident's paging until it
//! ends, and an early end releasing it once; and the schedules' firing across replicas: a
//! lapsed claim skips no occurrence, occurrences missed while none ran are sent as one.

use super::server::{answer, event, Api};
use alarm_digest::digests::{ClaimSettings, Digests};
use alarm_digest::domain::ports::{Clock, DigestPublisher, ManualClock};
use alarm_digest::domain::recurrence::Recurrence;
use alarm_digest::domain::schedule::{DigestCause, DigestSchedule};
use alarm_digest::domain::{EventTime, UserId};
use alarm_digest::http::auth::Tokens;
use alarm_digest::schedules::{DigestSchedules, ScheduleSettings};
use alarm_digest::store::Stores;
use chrono::{Duration as Span, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::Arc;

const SCHEDULE: &str = "/v1/users/ann/digest-schedule";
const WINDOWS: &str = "/v1/maintenance-windows";
const POLICY: &str = "/v1/services/payments/escalation-policy";

async fn send(api: &Api, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = api.client.request(method, format!("{}{path}", api.base));
    if let Some(body) = body {
        request = request.json(body);
    }
    answer(request.send().await.unwrap()).await
}

/// An instant `minutes` from now, in RFC 3339.
fn in_minutes(minutes: i64) -> String {
    (Utc::now() + Span::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or("")
}

pub async fn digest_schedules_are_created_replaced_read_and_deleted(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    assert_eq!(api.get(SCHEDULE).await.0, 404);
    let paris = json!({"time_zone": "Europe/Paris", "cron": "0 9 * * *"});
    let (status, created) = send(&api, reqwest::Method::PUT, SCHEDULE, Some(&paris)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (
            &created["user_id"],
            &created["time_zone"],
            &created["cron"],
            &created["send_empty"]
        ),
        (
            &json!("ann"),
            &json!("Europe/Paris"),
            &json!("0 9 * * *"),
            &json!(false)
        )
    );
    let local = created["next"]["local"].as_str().unwrap();
    assert!(
        local.contains("T09:00:00+0"),
        "09:00 in Paris, at +01:00 or +02:00: {created}"
    );
    let tokyo = json!({"time_zone": "Asia/Tokyo", "cron": "0 30 8 * * 1-5", "send_empty": true});
    let (status, replaced) = send(&api, reqwest::Method::PUT, SCHEDULE, Some(&tokyo)).await;
    assert_eq!((status, &replaced["send_empty"]), (200, &json!(true)), "{replaced}");
    assert!(
        replaced["next"]["local"].as_str().unwrap().ends_with("T08:30:00+09:00"),
        "{replaced}"
    );
    assert_eq!(api.get(SCHEDULE).await, (200, replaced));
    assert_eq!(send(&api, reqwest::Method::DELETE, SCHEDULE, None).await.0, 204);
    assert_eq!(send(&api, reqwest::Method::DELETE, SCHEDULE, None).await.0, 404);
    assert_eq!(api.get(SCHEDULE).await.0, 404);
}

pub async fn invalid_digest_schedules_are_422_problems_naming_the_field(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    let cases = [
        (json!({"time_zone": "Mars/Olympus", "cron": "0 9 * * *"}), "time_zone"),
        (json!({"time_zone": "Europe/Paris", "cron": "0 25 * * *"}), "cron"),
        (json!({"time_zone": "Europe/Paris", "cron": "every day"}), "cron"),
        (json!({"time_zone": "Europe/Paris"}), "cron"),
        (json!({"cron": "0 9 * * *"}), "time_zone"),
        (json!({"time_zone": "Europe/Paris", "cron": "0 9 * * *", "at": 9}), "at"),
    ];
    for (body, field) in cases {
        let (status, problem) = send(&api, reqwest::Method::PUT, SCHEDULE, Some(&body)).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert!(
            detail(&problem).contains(field),
            "{body}: the detail names {field}: {problem}"
        );
    }
    assert_eq!(api.get(SCHEDULE).await.0, 404, "nothing was stored");
}

pub async fn next_occurrences_show_utc_and_local_time_across_a_daylight_saving_gap(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    assert_eq!(api.get(&format!("{SCHEDULE}/next")).await.0, 404, "no schedule yet");
    // 02:30 does not exist in Paris on 2026-03-29: the clock jumps from 02:00 to 03:00.
    let body = json!({"time_zone": "Europe/Paris", "cron": "30 2 * * *"});
    assert_eq!(send(&api, reqwest::Method::PUT, SCHEDULE, Some(&body)).await.0, 201);
    let (status, next) = api
        .get(&format!("{SCHEDULE}/next?count=3&after=2026-03-28T12:00:00Z"))
        .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["time_zone"], "Europe/Paris");
    let at: Vec<_> = next["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["at"].clone())
        .collect();
    assert_eq!(
        at,
        [
            json!("2026-03-29T01:00:00Z"),
            json!("2026-03-30T00:30:00Z"),
            json!("2026-03-31T00:30:00Z")
        ]
    );
    let gap = &next["occurrences"][0];
    assert_eq!(
        (&gap["local"], &gap["offset"], &gap["scheduled"]),
        (
            &json!("2026-03-29T03:00:00+02:00"),
            &json!("+02:00"),
            &json!("2026-03-29T02:30:00")
        ),
        "the first instant after the gap, saying which local time it stands for"
    );
    assert!(next["occurrences"][1].get("scheduled").is_none(), "{next}");
    for bad in ["count=0", "count=101", "count=x", "after=yesterday", "every=1"] {
        let (status, problem) = api.get(&format!("{SCHEDULE}/next?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    let (_, five) = api.get(&format!("{SCHEDULE}/next")).await;
    assert_eq!(five["occurrences"].as_array().unwrap().len(), 5, "5 by default: {five}");
}

pub async fn maintenance_windows_are_opened_listed_changed_and_deleted(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    let once = json!({"services": ["payments"], "start": in_minutes(-1), "end": in_minutes(60),
        "created_by": "ops", "comment": "database upgrade"});
    let (status, opened) = send(&api, reqwest::Method::POST, WINDOWS, Some(&once)).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(
        (&opened["state"], &opened["services"]),
        (&json!("active"), &json!(["payments"]))
    );
    assert_eq!(opened["holds_until"], opened["end"]);
    let nightly = json!({"services": "all", "created_by": "ops",
        "recurrence": {"cron": "0 2 * * *", "time_zone": "Europe/Paris", "duration_seconds": 3600}});
    let (status, recurring) = send(&api, reqwest::Method::POST, WINDOWS, Some(&nightly)).await;
    assert_eq!(status, 201, "{recurring}");
    assert_eq!(recurring["services"], "all");
    assert!(recurring["next_span"].is_array(), "{recurring}");
    let (status, listed) = api.get(WINDOWS).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = listed.as_array().unwrap().iter().map(|w| w["id"].clone()).collect();
    assert!(
        ids.contains(&opened["id"]) && ids.contains(&recurring["id"]),
        "{listed}"
    );
    let one = format!("{WINDOWS}/{}", opened["id"].as_str().unwrap());
    let (status, ended) = send(&api, reqwest::Method::PATCH, &one, Some(&json!({"end": in_minutes(0)}))).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "past", "ended early: {ended}");
    assert_eq!(api.get(&one).await.1["end"], ended["end"]);
    assert_eq!(send(&api, reqwest::Method::DELETE, &one, None).await.0, 204);
    assert_eq!(send(&api, reqwest::Method::DELETE, &one, None).await.0, 404);
    assert_eq!(api.get(&one).await.0, 404);
    let (status, _) = send(&api, reqwest::Method::PATCH, &one, Some(&json!({"end": in_minutes(5)}))).await;
    assert_eq!(status, 404);
}

pub async fn invalid_maintenance_windows_are_422_problems_naming_the_field(stores: Stores) {
    let api = Api::start_with_stores(stores, Tokens::default()).await;
    let (start, end) = (in_minutes(0), in_minutes(60));
    let cases = [
        (json!({"services": "all", "start": start, "created_by": "ops"}), "end"),
        (
            json!({"services": "all", "start": end, "end": start, "created_by": "ops"}),
            "end",
        ),
        (
            json!({"services": "all", "start": start, "end": in_minutes(8 * 24 * 60), "created_by": "ops"}),
            "end",
        ),
        (
            json!({"services": [], "start": start, "end": end, "created_by": "ops"}),
            "services",
        ),
        (
            json!({"services": "some", "start": start, "end": end, "created_by": "ops"}),
            "services",
        ),
        (
            json!({"services": [""], "start": start, "end": end, "created_by": "ops"}),
            "services",
        ),
        (
            json!({"services": "all", "start": start, "end": end, "created_by": " "}),
            "created_by",
        ),
        (json!({"services": "all", "start": start, "end": end}), "created_by"),
        (
            json!({"services": "all", "start": "soon", "end": end, "created_by": "ops"}),
            "start",
        ),
        (
            json!({"services": "all", "created_by": "ops",
            "recurrence": {"cron": "0 2 * * *", "time_zone": "Nowhere/City", "duration_seconds": 60}}),
            "recurrence.time_zone",
        ),
        (
            json!({"services": "all", "created_by": "ops",
            "recurrence": {"cron": "0 2 * *", "time_zone": "UTC", "duration_seconds": 60}}),
            "recurrence.cron",
        ),
        (
            json!({"services": "all", "created_by": "ops",
            "recurrence": {"cron": "0 2 * * *", "time_zone": "UTC", "duration_seconds": 0}}),
            "recurrence.duration_seconds",
        ),
        (
            json!({"services": "all", "created_by": "ops", "start": start, "end": end,
            "recurrence": {"cron": "0 2 * * *", "time_zone": "UTC", "duration_seconds": 60}}),
            "recurrence",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = send(&api, reqwest::Method::POST, WINDOWS, Some(&body)).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert!(
            detail(&problem).contains(field),
            "{body}: the detail names {field}: {problem}"
        );
    }
    assert_eq!(api.get(WINDOWS).await, (200, json!([])), "nothing was stored");
}

/// The level-1 notifications sent so far.
fn level_one(notifications: &super::server::RecordedNotifications) -> usize {
    notifications.0.lock().unwrap().iter().filter(|n| n.level == 1).count()
}

pub async fn an_alert_in_a_window_pages_nobody_until_the_window_is_ended_early_then_level_one_once(stores: Stores) {
    let (api, notifications) = Api::start_wired(stores, Tokens::default(), true).await;
    let policy = json!({"levels": [
        {"targets": [{"type": "email", "address": "a@example.com"}, {"type": "sms", "phone": "+33600000000"}]},
        {"targets": [{"type": "email", "address": "b@example.com"}]}
    ]});
    assert_eq!(send(&api, reqwest::Method::PUT, POLICY, Some(&policy)).await.0, 201);
    let window = json!({"services": ["payments"], "start": in_minutes(-1), "end": in_minutes(60), "created_by": "ops"});
    let (status, opened) = send(&api, reqwest::Method::POST, WINDOWS, Some(&window)).await;
    assert_eq!(status, 201, "{opened}");
    let critical = event(
        "u1",
        "checkout",
        "CRITICAL",
        &in_minutes(0),
        "Checkout",
        "payments",
        "Ann",
    );
    api.seed(&[critical]).await;
    let (_, service) = api.get("/v1/services/payments").await;
    let incident = &service["Incident"];
    assert_eq!(incident["HeldUntil"], opened["end"], "held by the window: {service}");
    assert_eq!(
        (&incident["TimeoutAt"], &incident["Level"]),
        (&opened["end"], &json!(0)),
        "no level notified; its only timer is the window's end: {service}"
    );
    assert!(
        api.pager.fire_due().await.unwrap().is_empty(),
        "nothing is due while the window holds"
    );
    assert_eq!(level_one(&notifications), 0, "nobody is paged in maintenance");

    let one = format!("{WINDOWS}/{}", opened["id"].as_str().unwrap());
    assert_eq!(
        send(&api, reqwest::Method::PATCH, &one, Some(&json!({"end": in_minutes(0)})))
            .await
            .0,
        200
    );
    let fired = api.pager.fire_due().await.unwrap();
    assert_eq!(fired.len(), 1, "the window's end is due at once: {fired:?}");
    assert_eq!(level_one(&notifications), 2, "both targets of level 1, once");
    assert!(api.pager.fire_due().await.unwrap().is_empty(), "and only once");
    assert_eq!(level_one(&notifications), 2);
    let (_, service) = api.get("/v1/services/payments").await;
    assert_eq!(
        (&service["Incident"]["Level"], &service["Incident"]["HeldUntil"]),
        (&json!(1), &Value::Null),
        "{service}"
    );
}

pub async fn an_incident_acknowledged_during_its_window_pages_nobody_when_the_window_ends(stores: Stores) {
    let (api, notifications) = Api::start_wired(stores, Tokens::default(), true).await;
    let policy = json!({"levels": [{"targets": [{"type": "email", "address": "a@example.com"}]}]});
    assert_eq!(send(&api, reqwest::Method::PUT, POLICY, Some(&policy)).await.0, 201);
    let window = json!({"services": "all", "start": in_minutes(-1), "end": in_minutes(60), "created_by": "ops"});
    let (_, opened) = send(&api, reqwest::Method::POST, WINDOWS, Some(&window)).await;
    api.seed(&[event(
        "u1",
        "checkout",
        "CRITICAL",
        &in_minutes(0),
        "Checkout",
        "payments",
        "Ann",
    )])
    .await;
    let (status, acked) = send(
        &api,
        reqwest::Method::POST,
        "/v1/services/payments/acknowledge",
        Some(&json!({})),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {acked}");
    let one = format!("{WINDOWS}/{}", opened["id"].as_str().unwrap());
    assert_eq!(send(&api, reqwest::Method::DELETE, &one, None).await.0, 204);
    api.pager.fire_due().await.unwrap();
    assert_eq!(
        level_one(&notifications),
        0,
        "acknowledged in the window: nobody is paged"
    );
}

/// Two replicas' schedule use cases over one store, each on the same manual clock, and
/// what they published.
/// One replica's schedules, started at the clock's now, publishing into `published`.
fn replica(
    stores: &Stores,
    clock: &Arc<ManualClock>,
    published: &Arc<super::server::RecordedDigests>,
    name: &str,
) -> DigestSchedules {
    let digests = Digests::new(
        Arc::clone(&stores.alarms),
        Arc::clone(published) as Arc<dyn DigestPublisher>,
        Arc::clone(clock) as Arc<dyn Clock>,
        name,
        ClaimSettings::default(),
    );
    let settings = ScheduleSettings {
        claim_ttl: std::time::Duration::from_secs(10),
        batch: 100,
    };
    DigestSchedules::new(
        Arc::clone(&stores.schedules),
        Arc::new(digests),
        clock.clone(),
        settings,
    )
}

struct TwoReplicas {
    clock: Arc<ManualClock>,
    published: Arc<super::server::RecordedDigests>,
    first: DigestSchedules,
    second: DigestSchedules,
}

impl TwoReplicas {
    fn new(stores: &Stores, at: &str) -> Self {
        let clock = Arc::new(ManualClock::at(EventTime::parse_rfc3339(at).unwrap()));
        let published = Arc::new(super::server::RecordedDigests::default());
        Self {
            first: replica(stores, &clock, &published, "first"),
            second: replica(stores, &clock, &published, "second"),
            clock,
            published,
        }
    }

    /// Both replicas started again now, after every replica was down.
    fn restart(&mut self, stores: &Stores) {
        self.first = replica(stores, &self.clock, &self.published, "first");
        self.second = replica(stores, &self.clock, &self.published, "second");
    }

    /// The occurrence of every scheduled digest published, in order.
    fn occurrences(&self) -> Vec<String> {
        self.published
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(digest, _)| match digest.cause {
                DigestCause::Scheduled { occurrence } => occurrence.to_rfc3339(),
                DigestCause::Requested => "requested".into(),
            })
            .collect()
    }
}

pub async fn a_claim_left_by_a_dead_replica_is_fired_by_another_and_skips_no_occurrence(stores: Stores) {
    let replicas = TwoReplicas::new(&stores, "2026-01-05T08:59:59Z");
    let user = UserId::parse("ann").unwrap();
    let every_2s = Recurrence::parse("*/2 * * * * *", "UTC").unwrap();
    let schedule = DigestSchedule {
        user_id: user.clone(),
        recurrence: every_2s,
        send_empty: true,
    };
    replicas.first.put(&schedule).await.unwrap();
    replicas.clock.advance(std::time::Duration::from_secs(1));
    // 09:00:00 falls due; the first replica claims it and dies before sending it.
    let now = replicas.clock.now();
    let claimed = stores
        .schedules
        .claim_due_schedules(now, now.after(std::time::Duration::from_secs(10)), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // While its claim holds (10 s), nobody fires: 09:00:02 … 09:00:08 wait behind it.
    replicas.clock.advance(std::time::Duration::from_secs(9));
    assert!(
        replicas.second.fire_due().await.unwrap().is_empty(),
        "the claim still holds"
    );
    replicas.clock.advance(std::time::Duration::from_secs(2));
    let fired = replicas.second.fire_due().await.unwrap();
    let expected: Vec<String> = (0..=10)
        .step_by(2)
        .map(|s| format!("2026-01-05T09:00:{s:02}Z"))
        .collect();
    assert_eq!(
        replicas.occurrences(),
        expected,
        "each occurrence once, in order: {fired:?}"
    );
    assert!(fired.iter().all(|f| f.occurrences == 1), "none folded: {fired:?}");
    // The dead replica's claim can move nothing now, and the next occurrence fires once.
    assert!(!stores.schedules.advance_schedule(&claimed[0], None).await.unwrap());
    replicas.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(replicas.first.fire_due().await.unwrap().len(), 1);
    assert!(replicas.second.fire_due().await.unwrap().is_empty());
    assert_eq!(replicas.occurrences().last().unwrap(), "2026-01-05T09:00:12Z");
    assert_eq!(replicas.occurrences().len(), 7);
}

pub async fn occurrences_missed_while_no_replica_ran_are_sent_as_one_digest(stores: Stores) {
    let mut replicas = TwoReplicas::new(&stores, "2026-01-05T08:59:59Z");
    let schedule = DigestSchedule {
        user_id: UserId::parse("ann").unwrap(),
        recurrence: Recurrence::parse("0 * * * *", "Europe/Paris").unwrap(),
        send_empty: true,
    };
    replicas.first.put(&schedule).await.unwrap();
    // Every replica down from just before 10:00 Paris (09:00 UTC) until 13:31 Paris: the
    // occurrences of 10:00, 11:00, 12:00 and 13:00 were missed.
    replicas
        .clock
        .advance(std::time::Duration::from_secs(3 * 3600 + 31 * 60));
    replicas.restart(&stores);
    let fired = replicas.second.fire_due().await.unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].occurrences, fired[0].occurrence.to_rfc3339()),
        (4, "2026-01-05T09:00:00Z".into())
    );
    assert_eq!(
        fired[0].late_by,
        std::time::Duration::from_secs(3 * 3600 + 30 * 60 + 59)
    );
    assert!(
        replicas.first.fire_due().await.unwrap().is_empty(),
        "sent once, by one replica"
    );
    let record = replicas.first.get(&schedule.user_id).await.unwrap().unwrap();
    assert_eq!(
        record.next_due.unwrap().to_rfc3339(),
        "2026-01-05T13:00:00Z",
        "14:00 Paris next"
    );
}

pub async fn a_timer_that_fell_behind_while_it_ran_sends_each_occurrence_it_missed(stores: Stores) {
    let replicas = TwoReplicas::new(&stores, "2026-01-05T08:59:59Z");
    let schedule = DigestSchedule {
        user_id: UserId::parse("ann").unwrap(),
        recurrence: Recurrence::parse("*/2 * * * * *", "UTC").unwrap(),
        send_empty: true,
    };
    replicas.first.put(&schedule).await.unwrap();
    // Both replicas run, but a burst kept them from ticking for 7 s: 09:00:00 … 09:00:06
    // fell due meanwhile. They were running, so none is folded into another.
    replicas.clock.advance(std::time::Duration::from_secs(8));
    let fired = replicas.second.fire_due().await.unwrap();
    assert!(fired.iter().all(|f| f.occurrences == 1), "none folded: {fired:?}");
    assert_eq!(
        replicas.occurrences(),
        [
            "2026-01-05T09:00:00Z",
            "2026-01-05T09:00:02Z",
            "2026-01-05T09:00:04Z",
            "2026-01-05T09:00:06Z"
        ]
    );
    assert!(replicas.first.fire_due().await.unwrap().is_empty(), "each once");
}

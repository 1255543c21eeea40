//! The cluster issue's first report replayed from its seed: its "never delivered" WARNING
//! is what the checker finds when one event is applied only after the final digests.

use super::*;
use domain::{AlarmState, EventTime, Status, Version};

/// The seed and the verdict of the first report (`make test`, then alone with the seed).
const REPORTED_SEED: u64 = 1_796_268_307_043_581_982;
const REPORTED: &str =
    "user-0/alarm-0: change (1623098415908394002, 1) after delivered (1623098415736906002, 2) was never delivered";
/// The event the report's verdict names: user-0/alarm-0's WARNING, the 2,718th published.
const WARNING_OF_THE_REPORT: usize = 2_717;

/// The leaders scenario's traffic: 3,000 events over 40 users and 10 alarms each, and a
/// digest request after every 25 events, round robin over the users in their sorted order.
const USERS: usize = 40;
const ALARMS: usize = 10;
const EVENTS: usize = 3_000;
const REQUEST_EVERY: usize = 25;

/// Every user's alarms as the domain's rules keep them.
type States = BTreeMap<(String, String), AlarmState>;

/// The digests sent for `events` when every event is applied in the order published,
/// except those at the indexes in `late`, which are applied only after the final digests
/// (as a redelivery after the ack wait is); and the states once the late ones are in.
fn digests_with_late_events(model: &Model, events: &[TestEvent], late: &[usize]) -> (Vec<DigestMsg>, States) {
    let users = model.users();
    let mut states = States::new();
    let mut digests = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if !late.contains(&i) {
            apply(&mut states, e);
        }
        if (i + 1) % REQUEST_EVERY == 0 {
            let user = &users[((i + 1) / REQUEST_EVERY - 1) % users.len()];
            digests.push(answer(&mut states, user));
        }
    }
    for user in &users {
        digests.push(answer(&mut states, user));
    }
    for i in late {
        apply(&mut states, &events[*i]);
    }
    (digests, states)
}

fn apply(states: &mut States, e: &TestEvent) {
    let status: Status = e.status.parse().expect("the workload's statuses parse");
    let version = Version {
        changed_at: EventTime::from_nanos(e.nanos),
        status,
    };
    states
        .entry((e.user.clone(), e.alarm.clone()))
        .or_default()
        .apply(version);
}

/// The digest `user` gets now: every due alarm at its latest version, oldest first, each
/// recorded as delivered.
fn answer(states: &mut States, user: &str) -> DigestMsg {
    let mut due: Vec<(Version, String)> = states
        .iter_mut()
        .filter(|((u, _), state)| u == user && state.is_due())
        .map(|((_, alarm), state)| {
            let latest = state.latest().expect("an alarm in the map had an event");
            state.record_delivery(latest);
            (latest, alarm.clone())
        })
        .collect();
    due.sort_by(|x, y| (x.0.changed_at, &x.1).cmp(&(y.0.changed_at, &y.1)));
    let alarms = due
        .into_iter()
        .map(|(v, alarm)| DigestEntry {
            alarm,
            status: v.status.to_string(),
            changed_at: v.changed_at.to_rfc3339(),
        })
        .collect();
    DigestMsg {
        user: user.to_string(),
        alarms,
        parts: 1,
        id: None,
        sequences: Vec::new(),
        cause: None,
        occurrence: None,
    }
}

fn reported_traffic() -> (Model, Vec<TestEvent>) {
    let events = Workload::with_seed(REPORTED_SEED).events(USERS, ALARMS, EVENTS);
    let mut model = Model::default();
    model.record(&events);
    (model, events)
}

#[test]
fn the_reported_run_keeps_every_guarantee_when_the_final_digests_follow_every_event() {
    let (model, events) = reported_traffic();
    let (digests, _) = digests_with_late_events(&model, &events, &[]);
    assert_eq!(model.check(&digests), Ok(()));
}

#[test]
fn the_first_reports_undelivered_warning_is_one_event_applied_after_the_final_digests() {
    let (model, events) = reported_traffic();
    let warning = &events[WARNING_OF_THE_REPORT];
    assert_eq!(
        (warning.user.as_str(), warning.alarm.as_str(), warning.status),
        ("user-0", "alarm-0", "WARNING")
    );
    let (digests, states) = digests_with_late_events(&model, &events, &[WARNING_OF_THE_REPORT]);
    let verdict = model.check(&digests).expect_err("a change came after the last digest");
    assert_eq!(verdict.message, REPORTED);
    // Nothing is lost: once the WARNING is applied the alarm is due, for the next digest.
    let key = ("user-0".to_string(), "alarm-0".to_string());
    assert!(states[&key].is_due(), "{:?}", states[&key]);
}

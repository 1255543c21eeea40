//! The pager's behaviours 1 to 6 as decisions on states, with time passed in by the test.

use super::decide::{acknowledge, fire_timeout, raise, recover};
use super::*;
use crate::{EventTime, ServiceId};
use std::time::Duration;

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);
const T0: EventTime = EventTime::from_nanos(1_700_000_000_000_000_000);

fn service() -> ServiceId {
    ServiceId::parse("payments").unwrap()
}

fn policy(levels: &[&[&str]], last: LastLevelTimeout) -> EscalationPolicy {
    let levels = levels
        .iter()
        .map(|targets| {
            targets
                .iter()
                .map(|t| match t.strip_prefix("sms:") {
                    Some(phone) => Target::sms(phone).unwrap(),
                    None => Target::email(t).unwrap(),
                })
                .collect()
        })
        .collect();
    EscalationPolicy::new(service(), levels, last).unwrap()
}

fn two_levels() -> EscalationPolicy {
    policy(
        &[&["a@example.com", "sms:+33600000000"], &["b@example.com"]],
        LastLevelTimeout::Stop,
    )
}

fn alert() -> Alert {
    Alert {
        service_id: service(),
        message: "checkout is failing".into(),
        raised_at: T0,
    }
}

fn at(minutes: u64) -> EventTime {
    T0.after(Duration::from_secs(minutes * 60))
}

fn notified(d: &Decision) -> Vec<(u32, String)> {
    d.notifications().map(|n| (n.level, n.target.to_string())).collect()
}

fn timeouts(d: &Decision) -> Vec<EventTime> {
    d.state.timeout_at().into_iter().collect()
}

/// The state after an alert at T0 under `policy`.
fn opened(policy: &EscalationPolicy) -> ServiceState {
    raise(
        &ServiceState::default(),
        Some(policy),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        None,
    )
    .state
}

#[test]
fn alert_on_a_healthy_service_notifies_every_level_one_target_and_sets_the_timeout() {
    let d = raise(
        &ServiceState::default(),
        Some(&two_levels()),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        None,
    );
    assert_eq!(d.outcome, Outcome::Opened);
    assert_eq!(
        notified(&d),
        [(1, "email:a@example.com".into()), (1, "sms:+33600000000".into())]
    );
    assert_eq!(timeouts(&d), [at(15)]);
    let incident = d.state.incident().expect("unhealthy");
    assert_eq!(
        (incident.number, incident.level, incident.timeout_at),
        (1, 1, Some(at(15)))
    );
    assert_eq!(incident.message, "checkout is failing");
}

#[test]
fn unacknowledged_timeout_notifies_the_next_level_and_sets_a_new_timeout() {
    let state = opened(&two_levels());
    let early = fire_timeout(&service(), &state, Some(&two_levels()), at(14), FIFTEEN_MINUTES, None);
    assert_eq!((early.outcome, early.state.clone()), (Outcome::NotDue, state.clone()));
    let d = fire_timeout(&service(), &state, Some(&two_levels()), at(15), FIFTEEN_MINUTES, None);
    assert_eq!(d.outcome, Outcome::Escalated);
    assert_eq!(notified(&d), [(2, "email:b@example.com".into())]);
    assert_eq!(timeouts(&d), [at(30)]);
    assert_eq!(d.state.incident().unwrap().level, 2);
}

#[test]
fn acknowledged_incident_ignores_its_timeout() {
    let acked = acknowledge(&opened(&two_levels()), Some("ann"), at(3));
    assert_eq!(acked.outcome, Outcome::Acknowledged);
    assert!(acked.notifications.is_empty());
    assert_eq!(acked.state.timeout_at(), None);
    let d = fire_timeout(
        &service(),
        &acked.state,
        Some(&two_levels()),
        at(15),
        FIFTEEN_MINUTES,
        None,
    );
    assert_eq!(d.outcome, Outcome::NotDue);
    assert!(d.notifications.is_empty());
    assert_eq!(d.state, acked.state);
}

#[test]
fn a_timeout_claimed_before_the_acknowledgement_landed_still_sends_nothing() {
    let mut state = acknowledge(&opened(&two_levels()), None, at(3)).state;
    if let ServiceState::Unhealthy(incident) = &mut state {
        incident.timeout_at = Some(at(15));
    }
    let d = fire_timeout(&service(), &state, Some(&two_levels()), at(15), FIFTEEN_MINUTES, None);
    assert!(d.notifications.is_empty());
}

#[test]
fn another_alert_on_an_unhealthy_service_notifies_nobody_and_sets_no_timeout() {
    let state = opened(&two_levels());
    let d = raise(&state, Some(&two_levels()), &alert(), at(5), FIFTEEN_MINUTES, None);
    assert_eq!(d.outcome, Outcome::AlreadyOpen);
    assert!(d.notifications.is_empty());
    assert_eq!(d.state, state);
}

#[test]
fn healthy_service_ignores_a_later_timeout() {
    let d = recover(&opened(&two_levels()));
    assert_eq!(d.outcome, Outcome::Recovered);
    assert_eq!(d.state, ServiceState::Healthy { incidents: 1 });
    let later = fire_timeout(&service(), &d.state, Some(&two_levels()), at(15), FIFTEEN_MINUTES, None);
    assert_eq!(later.outcome, Outcome::NotDue);
    assert!(later.notifications.is_empty());
    assert!(later.state.is_healthy());
}

#[test]
fn the_next_incident_of_a_recovered_service_has_the_next_number() {
    let healthy = recover(&opened(&two_levels())).state;
    let d = raise(&healthy, Some(&two_levels()), &alert(), at(60), FIFTEEN_MINUTES, None);
    assert!(d.notifications().all(|n| n.incident == 2));
}

#[test]
fn last_level_timeout_stops_by_default_leaving_the_incident_open() {
    let policy = two_levels();
    let second = fire_timeout(
        &service(),
        &opened(&policy),
        Some(&policy),
        at(15),
        FIFTEEN_MINUTES,
        None,
    )
    .state;
    let d = fire_timeout(&service(), &second, Some(&policy), at(30), FIFTEEN_MINUTES, None);
    assert_eq!(d.outcome, Outcome::Exhausted);
    assert!(d.notifications.is_empty());
    let incident = d.state.incident().expect("still unhealthy");
    assert_eq!((incident.level, incident.timeout_at), (2, None));
}

#[test]
fn last_level_timeout_with_repeat_notifies_the_last_level_again_under_new_keys() {
    let policy = policy(&[&["a@example.com"], &["b@example.com"]], LastLevelTimeout::Repeat);
    let second = fire_timeout(
        &service(),
        &opened(&policy),
        Some(&policy),
        at(15),
        FIFTEEN_MINUTES,
        None,
    );
    let first_key = second.notifications().next().unwrap().key();
    let again = fire_timeout(&service(), &second.state, Some(&policy), at(30), FIFTEEN_MINUTES, None);
    assert_eq!(again.outcome, Outcome::Repeated);
    assert_eq!(notified(&again), [(2, "email:b@example.com".into())]);
    assert_eq!(timeouts(&again), [at(45)]);
    let repeat_key = again.notifications().next().unwrap().key();
    assert_ne!(first_key, repeat_key);
    let third = fire_timeout(&service(), &again.state, Some(&policy), at(45), FIFTEEN_MINUTES, None);
    assert_eq!(third.state.incident().unwrap().repeats, 2);
}

#[test]
fn alert_without_a_policy_opens_the_incident_and_notifies_nobody() {
    let d = raise(&ServiceState::default(), None, &alert(), T0, FIFTEEN_MINUTES, None);
    assert_eq!(d.outcome, Outcome::Opened);
    assert!(d.notifications.is_empty());
    assert_eq!(d.state.incident().unwrap().level, 0);
}

#[test]
fn racing_alerts_decided_on_the_same_state_produce_the_same_idempotency_keys() {
    let state = ServiceState::default();
    let keys = |now| {
        raise(&state, Some(&two_levels()), &alert(), now, FIFTEEN_MINUTES, None)
            .notifications()
            .map(Notification::key)
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(T0), keys(at(1)));
    assert_eq!(keys(T0)[0], "payments/1/1/email:a@example.com");
}

#[test]
fn idempotency_keys_of_different_services_never_collide() {
    let n = |service: &str, incident| Notification {
        service_id: ServiceId::parse(service).unwrap(),
        incident,
        level: 1,
        repeat: 0,
        target: Target::email("a@example.com").unwrap(),
        message: String::new(),
    };
    assert_ne!(n("a/1", 1).key(), n("a", 1).key());
    assert_ne!(n("a%2F1", 1).key(), n("a/1", 1).key());
}

#[test]
fn acknowledging_twice_or_without_an_incident_changes_nothing() {
    let acked = acknowledge(&opened(&two_levels()), Some("ann"), at(3)).state;
    let again = acknowledge(&acked, Some("bob"), at(4));
    assert_eq!((again.outcome, again.state), (Outcome::AlreadyAcknowledged, acked));
    let healthy = acknowledge(&ServiceState::default(), None, at(4));
    assert_eq!(healthy.outcome, Outcome::NoIncident);
}

#[test]
fn a_level_with_its_own_timeout_escalates_on_it_and_the_others_on_the_pagers() {
    let mut specs = two_levels().specs();
    specs[0].timeout = Some(Duration::from_secs(120));
    let policy = EscalationPolicy::parse(service(), specs, LastLevelTimeout::Repeat).unwrap();
    let opened = raise(
        &ServiceState::default(),
        Some(&policy),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        None,
    );
    assert_eq!(opened.state.timeout_at(), Some(at(2)), "level 1's own two minutes");
    let escalated = fire_timeout(&service(), &opened.state, Some(&policy), at(2), FIFTEEN_MINUTES, None);
    assert_eq!(escalated.outcome, Outcome::Escalated);
    assert_eq!(
        escalated.state.timeout_at(),
        Some(at(17)),
        "level 2 has the pager's fifteen"
    );
}

#[test]
fn an_alert_during_maintenance_opens_a_held_incident_that_notifies_nobody_until_the_window_ends() {
    let end = at(60);
    let d = raise(
        &ServiceState::default(),
        Some(&two_levels()),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        Some(end),
    );
    assert_eq!(d.outcome, Outcome::Held);
    assert!(d.notifications.is_empty());
    let incident = d.state.incident().unwrap();
    assert_eq!((incident.held_until, incident.timeout_at), (Some(end), Some(end)));
    // Still held before the end: nothing.
    let early = fire_timeout(&service(), &d.state, Some(&two_levels()), at(59), FIFTEEN_MINUTES, None);
    assert_eq!(early.outcome, Outcome::NotDue);
}

#[test]
fn a_held_incident_nobody_acknowledged_pages_level_one_when_its_window_ends() {
    let held = raise(
        &ServiceState::default(),
        Some(&two_levels()),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        Some(at(60)),
    )
    .state;
    let d = fire_timeout(&service(), &held, Some(&two_levels()), at(60), FIFTEEN_MINUTES, None);
    assert_eq!(d.outcome, Outcome::Released);
    assert_eq!(
        notified(&d),
        [(1, "email:a@example.com".into()), (1, "sms:+33600000000".into())]
    );
    let incident = d.state.incident().unwrap();
    assert_eq!(incident.held_until, None);
    assert_eq!(
        incident.timeout_at,
        Some(at(75)),
        "level 1's timeout runs from the release"
    );
    // The next timeout escalates as usual.
    let next = fire_timeout(&service(), &d.state, Some(&two_levels()), at(75), FIFTEEN_MINUTES, None);
    assert_eq!(next.outcome, Outcome::Escalated);
}

#[test]
fn a_held_incident_acknowledged_or_recovered_during_its_window_pages_nobody() {
    let held = raise(
        &ServiceState::default(),
        Some(&two_levels()),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        Some(at(60)),
    )
    .state;
    let acked = acknowledge(&held, Some("ann"), at(10)).state;
    let d = fire_timeout(&service(), &acked, Some(&two_levels()), at(60), FIFTEEN_MINUTES, None);
    assert_eq!((d.outcome, d.notifications.len()), (Outcome::NotDue, 0));
    assert_eq!(recover(&held).outcome, Outcome::Recovered);
}

#[test]
fn a_window_still_holding_at_the_timeout_holds_the_incident_until_its_new_end() {
    let held = raise(
        &ServiceState::default(),
        Some(&two_levels()),
        &alert(),
        T0,
        FIFTEEN_MINUTES,
        Some(at(60)),
    )
    .state;
    // The window was extended to 90 before its first end.
    let d = fire_timeout(
        &service(),
        &held,
        Some(&two_levels()),
        at(60),
        FIFTEEN_MINUTES,
        Some(at(90)),
    );
    assert!(d.notifications.is_empty());
    assert_eq!(d.state.incident().unwrap().timeout_at, Some(at(90)));
    // An incident already paging before a window began waits for its end too.
    let paging = opened(&two_levels());
    let waits = fire_timeout(
        &service(),
        &paging,
        Some(&two_levels()),
        at(15),
        FIFTEEN_MINUTES,
        Some(at(40)),
    );
    assert!(waits.notifications.is_empty());
    let after = fire_timeout(
        &service(),
        &waits.state,
        Some(&two_levels()),
        at(40),
        FIFTEEN_MINUTES,
        None,
    );
    assert_eq!(after.outcome, Outcome::Escalated, "it resumes at its next level");
}

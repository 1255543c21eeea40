//! Properties of the alarm rules over random histories: convergence and the due invariants.

use super::*;
use proptest::prelude::*;

fn version() -> impl Strategy<Value = Version> {
    (0i64..20, 0i64..3).prop_map(|(t, r)| Version {
        changed_at: EventTime::from_nanos(t),
        status: Status::from_rank(r).unwrap(),
    })
}

/// One step of a random history: an event arrives, or a digest reads and records.
#[derive(Debug, Clone)]
enum Step {
    Event(Version),
    Digest,
    /// A digest that read before the next `n` events landed, recorded after them.
    SlowDigest(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => version().prop_map(Step::Event),
        1 => Just(Step::Digest),
        1 => (1usize..4).prop_map(Step::SlowDigest),
    ]
}

proptest! {
    #[test]
    fn any_permutation_with_duplicates_yields_the_same_state(
        events in prop::collection::vec(version(), 1..30),
        seed in any::<u64>(),
        dups in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut reference = AlarmState::default();
        for e in &events { reference.apply(*e); }
        let mut shuffled = events.clone();
        shuffled.extend(dups.iter().map(|i| *i.get(&events)));
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut other = AlarmState::default();
        for e in &shuffled { other.apply(*e); }
        prop_assert_eq!(other, reference);
        prop_assert_eq!(other.latest(), events.iter().copied().max());
    }

    #[test]
    fn due_and_delivery_invariants_hold_after_any_interleaving(steps in prop::collection::vec(step(), 1..40)) {
        let mut state = AlarmState::default();
        let mut delivered_log: Vec<Version> = Vec::new();
        let mut i = 0;
        while i < steps.len() {
            match &steps[i] {
                Step::Event(v) => { state.apply(*v); }
                Step::Digest | Step::SlowDigest(_) => {
                    let due = state.is_due();
                    let read = state.latest();
                    if let Step::SlowDigest(n) = steps[i] {
                        for s in steps.iter().skip(i + 1).take(n) {
                            if let Step::Event(v) = s { state.apply(*v); }
                        }
                        i += n;
                    }
                    if due {
                        let read = read.unwrap();
                        // Never the same version twice to one user.
                        prop_assert!(!delivered_log.contains(&read));
                        state.record_delivery(read);
                        delivered_log.push(read);
                    }
                }
            }
            // Due only when active; never due while latest equals what was delivered.
            if state.is_due() {
                prop_assert!(state.is_active());
                prop_assert_ne!(state.delivered, state.latest());
            }
            // An active alarm never delivered is always due.
            if state.is_active() && state.delivered.is_none() {
                prop_assert!(state.is_due());
            }
            i += 1;
        }
        // Nothing is lost: if the alarm is active and its latest status differs from the
        // last delivered status, it is due.
        if let (Some(latest), Some(delivered)) = (state.latest(), state.delivered) {
            if latest.status.is_active() && latest.status != delivered.status {
                prop_assert!(state.is_due());
            }
        }
    }
}

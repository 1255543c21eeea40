//! Applying a batch of events on MongoDB: one read of the batch's alarms (and one of the
//! tombstones of those that are missing), the domain's decisions, one compare-and-set
//! write per kind, and the events whose alarm another writer changed meanwhile retried.

use super::{cas, documents, retention, MongoStore, ALARMS, CAS_ATTEMPTS};
use domain::ports::StoreError;
use domain::retention::state_after_tombstone;
use domain::{AlarmEvent, ApplyOutcome, EventTime};
use std::collections::HashMap;

/// One alarm's decisions in a batch.
struct Plan<'a> {
    write: cas::Write<'a>,
    /// The ChangedAt of the clear in the alarm's tombstone, while no event of the batch
    /// has brought it back: events then store nothing.
    buried: Option<EventTime>,
    /// The tombstone an event of the batch brought the alarm back from.
    revived: Option<EventTime>,
}

/// [`domain::ports::AlarmStore::apply`] on MongoDB.
pub(super) async fn apply(store: &MongoStore, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
    let mut outcomes = vec![ApplyOutcome::Duplicate; events.len()];
    let mut pending: Vec<usize> = (0..events.len()).collect();
    for _ in 0..CAS_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let now = super::now_ms();
        let keys = pending.iter().map(|&i| (&events[i].user_id, &events[i].alarm_id));
        let ids = cas::ids(keys);
        let stored = cas::read(&store.alarms, ids.clone()).await?;
        // A sweep writes the tombstone before it deletes the alarm, so an alarm missing
        // from the read above has its tombstone by now, if it was removed.
        let missing: Vec<String> = ids.into_iter().filter(|id| !stored.contains_key(id)).collect();
        let tombstones = retention::tombstones(store, missing).await?;
        // Per alarm, in batch order: the domain decides from what was read. Every event
        // is written, if only to its alarm's history (stale and duplicate ones too), except
        // those that leave a removed alarm removed.
        let mut plans: HashMap<String, Plan<'_>> = HashMap::new();
        for &i in &pending {
            let ev = &events[i];
            let id = documents::alarm_id(&ev.user_id, &ev.alarm_id);
            let plan = plans.entry(id.clone()).or_insert_with(|| {
                let before = stored.get(&id);
                let buried = tombstones.get(&id).copied();
                Plan {
                    write: cas::Write {
                        user: &ev.user_id,
                        alarm: &ev.alarm_id,
                        expected_rev: before.and_then(|b| b.rev.clone()),
                        resolved_ms: before.and_then(|b| b.resolved_ms),
                        state: match (before, buried) {
                            (Some(b), _) => b.state,
                            (None, Some(cleared_at)) => state_after_tombstone(cleared_at),
                            (None, None) => Default::default(),
                        },
                        meta: before.map(|b| b.meta.clone()).unwrap_or_default(),
                        history: Vec::new(),
                        delivered_now: false,
                        changes_state: before.is_none(),
                    },
                    buried,
                    revived: None,
                }
            });
            let w = &mut plan.write;
            let (state_before, meta_before) = (w.state, w.meta.clone());
            outcomes[i] = w.state.apply(ev.version);
            if plan.buried.is_some() {
                if outcomes[i] != ApplyOutcome::Applied {
                    // Older than the clear that removed the alarm: stale, as it was before.
                    w.state = state_before;
                    continue;
                }
                plan.revived = plan.buried.take();
            }
            w.meta.merge(&ev.metadata, outcomes[i] == ApplyOutcome::Applied);
            w.changes_state |= w.state != state_before || w.meta != meta_before;
            w.history.push(documents::history_entry(ev.version, outcomes[i], now));
        }
        let mut revived = Vec::new();
        let mut writes = Vec::new();
        for (id, plan) in plans {
            if plan.buried.is_some() {
                continue;
            }
            if let Some(cleared_at) = plan.revived {
                revived.push((id, cleared_at));
            }
            writes.push(plan.write);
        }
        let cap = store.history.events_per_alarm;
        let conflicts = cas::commit(&store.db, &store.alarms, ALARMS, writes, || store.next_rev(), now, cap).await?;
        revived.retain(|(id, _)| !conflicts.contains(id));
        retention::drop_tombstones(store, revived).await?;
        pending.retain(|&i| conflicts.contains(&documents::alarm_id(&events[i].user_id, &events[i].alarm_id)));
    }
    if !pending.is_empty() {
        return Err(StoreError::Unavailable(
            format!("{} events kept losing write races; retry", pending.len()).into(),
        ));
    }
    Ok(outcomes)
}

//! Digest schedules over SQLite: the timer is claimed as the pager's is, by one `UPDATE`
//! over the index of `wake_at`, in the single writer's transaction, so two replicas (or
//! two tasks) never claim the same occurrence; every claim counts up a fencing token that
//! `advance_schedule` must still find.

use super::SqliteStore;
use async_trait::async_trait;
use domain::ports::StoreError;
use domain::schedule::{DigestSchedule, DueSchedule, ScheduleRecord, ScheduleStore};
use domain::{EventTime, UserId};
use rusqlite::{params, Connection, OptionalExtension};
use store_codec::schedule::decode_schedule;

/// The name, in `store_totals`, of the counter schedule revisions are drawn from: one
/// counter for every user, so a schedule deleted and made again never reuses a revision
/// a claim on the old one carries.
const REVISIONS: &str = "schedule_revisions";

/// A claimed row: user, expression, zone, send_empty, next_due, revision, claims, lapsed.
type ClaimedRow = (String, String, String, bool, Option<i64>, i64, i64, bool);

fn next_revision(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "INSERT INTO store_totals (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        [REVISIONS],
        |r| r.get(0),
    )
}

fn put(conn: &Connection, schedule: &DigestSchedule, next_due: Option<i64>) -> rusqlite::Result<bool> {
    let user = schedule.user_id.as_str();
    let existed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM digest_schedules WHERE user_id = ?1)",
        [user],
        |r| r.get(0),
    )?;
    let revision = next_revision(conn)?;
    // A new revision and no claim: a claim taken before cannot advance this schedule.
    conn.execute(
        "INSERT INTO digest_schedules (user_id, expression, zone, send_empty, revision, next_due, wake_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (user_id) DO UPDATE SET expression = excluded.expression, zone = excluded.zone,
             send_empty = excluded.send_empty, revision = excluded.revision, next_due = excluded.next_due,
             wake_at = excluded.wake_at, claimed_until = NULL, lapsed = 0",
        params![
            user,
            schedule.recurrence.expression(),
            schedule.recurrence.zone(),
            schedule.send_empty,
            revision,
            next_due
        ],
    )?;
    Ok(!existed)
}

fn claim(conn: &Connection, now: i64, until: i64, limit: usize) -> rusqlite::Result<Vec<ClaimedRow>> {
    // `lapsed` is set from the row as it was: a claim still on it had lapsed, or its
    // `wake_at` would not be due.
    let mut stmt = conn.prepare_cached(
        "UPDATE digest_schedules
         SET wake_at = ?2, claimed_until = ?2, claims = claims + 1, lapsed = (claimed_until IS NOT NULL)
         WHERE user_id IN (SELECT user_id FROM digest_schedules WHERE wake_at <= ?1 ORDER BY wake_at LIMIT ?3)
         RETURNING user_id, expression, zone, send_empty, next_due, revision, claims, lapsed",
    )?;
    let rows = stmt
        .query_map(params![now, until, limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect();
    rows
}

fn due_schedule(
    (user, expression, zone, send_empty, next_due, revision, claims, lapsed): ClaimedRow,
) -> Result<DueSchedule, StoreError> {
    let occurrence = next_due
        .ok_or_else(|| StoreError::Corrupt(format!("the claimed schedule of {user} has no occurrence").into()))?;
    Ok(DueSchedule {
        schedule: decode_schedule(&user, &expression, &zone, send_empty)?,
        occurrence: EventTime::from_nanos(occurrence),
        revision: revision as u64,
        claim: claims as u64,
        lapsed,
    })
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn put_schedule(&self, schedule: &DigestSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        let schedule = schedule.clone();
        let next_due = next_due.map(EventTime::as_nanos);
        self.write(move |conn| put(conn, &schedule, next_due)).await
    }

    async fn schedule(&self, user: &UserId) -> Result<Option<ScheduleRecord>, StoreError> {
        let id = user.as_str().to_string();
        let row: Option<(String, String, bool, Option<i64>, i64)> = self
            .read(move |conn| {
                conn.query_row(
                    "SELECT expression, zone, send_empty, next_due, revision FROM digest_schedules WHERE user_id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
            })
            .await?;
        row.map(|(expression, zone, send_empty, next_due, revision)| {
            Ok(ScheduleRecord {
                schedule: decode_schedule(user.as_str(), &expression, &zone, send_empty)?,
                next_due: next_due.map(EventTime::from_nanos),
                revision: revision as u64,
            })
        })
        .transpose()
    }

    async fn delete_schedule(&self, user: &UserId) -> Result<bool, StoreError> {
        let id = user.as_str().to_string();
        self.write(move |conn| Ok(conn.execute("DELETE FROM digest_schedules WHERE user_id = ?1", [id])? == 1))
            .await
    }

    async fn claim_due_schedules(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        let (now, until) = (now.as_nanos(), claim_until.as_nanos());
        if limit == 0 {
            return Ok(Vec::new());
        }
        // As for the pager's timers: most ticks find nothing, and a read says so without
        // queueing a transaction behind the writer's batches.
        let any_due: bool = self
            .read(move |conn| {
                conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM digest_schedules WHERE wake_at <= ?1)",
                    [now],
                    |r| r.get(0),
                )
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        let rows = self.write(move |conn| claim(conn, now, until, limit)).await?;
        let mut due = rows.into_iter().map(due_schedule).collect::<Result<Vec<_>, _>>()?;
        // RETURNING has no order of its own.
        due.sort_by(|a, b| {
            (a.occurrence, a.schedule.user_id.as_str()).cmp(&(b.occurrence, b.schedule.user_id.as_str()))
        });
        Ok(due)
    }

    async fn advance_schedule(&self, due: &DueSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        let user = due.schedule.user_id.as_str().to_string();
        let (revision, claim, occurrence) = (due.revision as i64, due.claim as i64, due.occurrence.as_nanos());
        let next_due = next_due.map(EventTime::as_nanos);
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE digest_schedules SET next_due = ?5, wake_at = ?5, claimed_until = NULL, lapsed = 0
                 WHERE user_id = ?1 AND revision = ?2 AND claims = ?3 AND next_due = ?4
                   AND claimed_until IS NOT NULL",
                params![user, revision, claim, occurrence, next_due],
            )?;
            Ok(changed == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_due_schedules_reads_the_index_of_wake_times_and_never_scans() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT user_id FROM digest_schedules WHERE wake_at <= 5 ORDER BY wake_at LIMIT 10",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|step| step.contains("digest_schedules_by_wake")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step.starts_with("SCAN")), "{plan:?}");
    }
}

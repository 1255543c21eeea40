//! Digest schedules over MongoDB: one document per user, `_id` the user id. A schedule's
//! `wake_at` is when its timer next needs a replica: its occurrence `next_due` while
//! unclaimed, the end of its claim while claimed (as the pager's `due_at`). A claim is one
//! findOneAndUpdate filtered on `wake_at <= now` (free and due, or its claim lapsed), so of
//! racing claimers only one takes each document; its pre-image says whether it took over a
//! lapsed claim, and its `claims` count is the fencing token advance must still find.

use super::documents::int;
use super::errors::{is_duplicate_key, to_store_error};
use super::MongoStore;
use async_trait::async_trait;
use domain::ports::StoreError;
use domain::schedule::{DigestSchedule, DueSchedule, ScheduleRecord, ScheduleStore};
use domain::{EventTime, UserId};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, IndexModel};
use store_codec::schedule::decode_schedule;

const SCHEDULES: &str = "digest_schedules";
/// Running counters, one document each: `{ _id: name, value }` (shared with retention).
const TOTALS: &str = "store_totals";
/// The counter schedule revisions are drawn from: one for every user, so a schedule
/// deleted and made again never reuses a revision a claim on the old one carries.
const REVISIONS: &str = "schedule_revisions";
/// How often a first insert that lost the race to another writer is retried as an update.
const INSERT_RACE_RETRIES: usize = 5;

impl MongoStore {
    fn schedules(&self) -> Collection<Document> {
        self.db.collection(SCHEDULES)
    }

    /// The index the claim reads: due schedules are one range of `wake_at`, so finding
    /// them never scans, however many users share an occurrence.
    pub(super) async fn create_schedule_indexes(&self) -> Result<(), StoreError> {
        let wake = IndexModel::builder()
            .keys(doc! { "wake_at": 1 })
            .options(IndexOptions::builder().name("by_wake".to_string()).build())
            .build();
        self.schedules().create_index(wake).await.map_err(to_store_error)?;
        self.create_window_indexes().await
    }

    /// A revision no schedule had before: the next value of the shared counter.
    async fn next_schedule_revision(&self) -> Result<i64, StoreError> {
        let totals: Collection<Document> = self.db.collection(TOTALS);
        for _ in 0..=INSERT_RACE_RETRIES {
            let counted = totals
                .find_one_and_update(doc! { "_id": REVISIONS }, doc! { "$inc": { "value": 1_i64 } })
                .return_document(ReturnDocument::After)
                .await
                .map_err(to_store_error)?;
            if let Some(value) = counted.as_ref().and_then(|d| int(d, "value")) {
                return Ok(value);
            }
            match totals.insert_one(doc! { "_id": REVISIONS, "value": 1_i64 }).await {
                Ok(_) => return Ok(1),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        Err(StoreError::Unavailable(
            "the schedule revision counter kept losing insert races".into(),
        ))
    }
}

fn corrupt(d: &Document, what: &str) -> StoreError {
    StoreError::Corrupt(format!("schedule {:?}: {what}", d.get("_id")).into())
}

fn schedule_of(d: &Document) -> Result<DigestSchedule, StoreError> {
    let text = |key: &str| d.get_str(key).map_err(|_| corrupt(d, &format!("no {key}")));
    decode_schedule(
        text("_id")?,
        text("expression")?,
        text("zone")?,
        d.get_bool("send_empty").unwrap_or(false),
    )
}

fn revision_of(d: &Document) -> Result<i64, StoreError> {
    int(d, "revision").ok_or_else(|| corrupt(d, "no revision"))
}

/// The schedule a claim took, from the document as it was before the claim.
fn claimed(before: &Document) -> Result<DueSchedule, StoreError> {
    let occurrence = int(before, "next_due").ok_or_else(|| corrupt(before, "claimed without an occurrence"))?;
    Ok(DueSchedule {
        schedule: schedule_of(before)?,
        occurrence: EventTime::from_nanos(occurrence),
        revision: revision_of(before)? as u64,
        claim: int(before, "claims").unwrap_or(0).max(0) as u64 + 1,
        lapsed: !matches!(before.get("claimed_until"), None | Some(Bson::Null)),
    })
}

#[async_trait]
impl ScheduleStore for MongoStore {
    async fn put_schedule(&self, schedule: &DigestSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        let user = schedule.user_id.as_str();
        let next_due = next_due.map(EventTime::as_nanos);
        // A new revision and no claim: a claim taken before cannot advance this schedule.
        let fields = doc! {
            "expression": schedule.recurrence.expression(),
            "zone": schedule.recurrence.zone(),
            "send_empty": schedule.send_empty,
            "revision": self.next_schedule_revision().await?,
            "next_due": next_due,
            "wake_at": next_due,
            "claimed_until": Bson::Null,
        };
        let schedules = self.schedules();
        for _ in 0..=INSERT_RACE_RETRIES {
            let replaced = schedules
                .update_one(doc! { "_id": user }, doc! { "$set": fields.clone() })
                .await
                .map_err(to_store_error)?;
            if replaced.matched_count == 1 {
                return Ok(false);
            }
            let mut first = doc! { "_id": user, "claims": 0_i64 };
            first.extend(fields.clone());
            match schedules.insert_one(first).await {
                Ok(_) => return Ok(true),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        Err(StoreError::Unavailable(
            format!("the schedule of {user} kept losing insert races").into(),
        ))
    }

    async fn schedule(&self, user: &UserId) -> Result<Option<ScheduleRecord>, StoreError> {
        let found = self
            .schedules()
            .find_one(doc! { "_id": user.as_str() })
            .await
            .map_err(to_store_error)?;
        found
            .map(|d| {
                Ok(ScheduleRecord {
                    schedule: schedule_of(&d)?,
                    next_due: int(&d, "next_due").map(EventTime::from_nanos),
                    revision: revision_of(&d)? as u64,
                })
            })
            .transpose()
    }

    async fn delete_schedule(&self, user: &UserId) -> Result<bool, StoreError> {
        let deleted = self
            .schedules()
            .delete_one(doc! { "_id": user.as_str() })
            .await
            .map_err(to_store_error)?;
        Ok(deleted.deleted_count == 1)
    }

    async fn claim_due_schedules(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        let schedules = self.schedules();
        let until = claim_until.as_nanos();
        let mut due = Vec::new();
        while due.len() < limit {
            let before = schedules
                .find_one_and_update(
                    doc! { "wake_at": { "$lte": now.as_nanos() } },
                    doc! {
                        "$set": { "wake_at": until, "claimed_until": until },
                        "$inc": { "claims": 1_i64 },
                    },
                )
                .sort(doc! { "wake_at": 1 })
                .return_document(ReturnDocument::Before)
                .await
                .map_err(to_store_error)?;
            match before {
                Some(before) => due.push(claimed(&before)?),
                None => break,
            }
        }
        Ok(due)
    }

    async fn advance_schedule(&self, due: &DueSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        let next_due = next_due.map(EventTime::as_nanos);
        let advanced = self
            .schedules()
            .update_one(
                doc! {
                    "_id": due.schedule.user_id.as_str(),
                    "revision": due.revision as i64,
                    "claims": due.claim as i64,
                    "next_due": due.occurrence.as_nanos(),
                    "claimed_until": { "$ne": Bson::Null },
                },
                doc! { "$set": { "next_due": next_due, "wake_at": next_due, "claimed_until": Bson::Null } },
            )
            .await
            .map_err(to_store_error)?;
        Ok(advanced.matched_count == 1)
    }
}

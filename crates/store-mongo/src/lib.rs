//! The MongoDB store, shared by replicas: the domain decides, compare-and-set writes land
//! only on the revision that was read, claims are one conditional pipeline update that
//! returns the claim document as it left it.

mod apply;
mod bulk;
mod cas;
mod documents;
mod errors;
mod maintenance;
mod options;
mod pager;
mod pipeline;
mod queries;
mod retention;
mod schedules;

use async_trait::async_trait;
use documents::{alarm_key, parse_due, parse_record};
use domain::ports::{
    AlarmRecord, AlarmStore, DigestClaim, PreparedDigest, SentDigest, StoreError, ANSWERED_REQUESTS_KEPT,
    SENT_DIGESTS_KEPT,
};
use domain::query::{AckOutcome, AlarmFilter, Counts, HistoryEntry, HistoryLimits, Page, PageRequest};
use domain::retention::{Sweep, Swept};
use domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use errors::{is_duplicate_key, to_store_error};
use mongodb::bson::{doc, Document};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, Database, IndexModel};
pub use options::client_options;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "alarm_digest";
/// The collection of alarm documents.
const ALARMS: &str = "alarms";
/// How often a first claim insert that lost the race to another writer is retried as an
/// update. Inserts are separate from updates (no upsert) because some MongoDB-wire servers
/// report the wrong pre-image for racing upserts.
const INSERT_RACE_RETRIES: usize = 5;
/// How often a batch re-reads and re-decides the alarms another writer changed under it.
const CAS_ATTEMPTS: usize = 20;

/// The MongoDB [`AlarmStore`].
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    alarms: Collection<Document>,
    claims: Collection<Document>,
    writer: Arc<WriterId>,
    history: HistoryLimits,
}

/// Makes revision tokens unique across processes (random part) and writes (counter).
struct WriterId {
    random: u64,
    next: AtomicU64,
}

impl MongoStore {
    /// Connects with [`client_options`] of `uri` (majority, journaled writes and primary
    /// reads unless the URI says otherwise), picks the database (`database`, else the
    /// URI's path, else [`DEFAULT_DATABASE`]) and creates the indexes the queries need.
    pub async fn connect(uri: &str, database: Option<&str>, history: HistoryLimits) -> Result<Self, StoreError> {
        Self::connect_with(client_options(uri).await?, database, history).await
    }

    /// Like [`MongoStore::connect`], with options already built (from [`client_options`],
    /// say, with a command monitor attached); they are used as given.
    pub async fn connect_with(
        options: ClientOptions,
        database: Option<&str>,
        history: HistoryLimits,
    ) -> Result<Self, StoreError> {
        let name = database
            .map(str::to_string)
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.into());
        let client = Client::with_options(options).map_err(to_store_error)?;
        let db = client.database(&name);
        let random =
            std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), std::process::id());
        let writer = Arc::new(WriterId {
            random,
            next: AtomicU64::new(0),
        });
        let store = Self {
            alarms: db.collection(ALARMS),
            claims: db.collection("digest_claims"),
            db,
            writer,
            history,
        };
        store.create_indexes().await?;
        store.create_pager_indexes().await?;
        store.create_schedule_indexes().await?;
        store.prepare_retention().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_string()).build())
                .build()
        };
        self.alarms
            .create_indexes([
                index(
                    doc! { "user_id": 1, "due": 1, "changed_at": 1, "alarm_id": 1 },
                    "user_due_order",
                ),
                index(doc! { "changed_at": 1, "user_id": 1, "alarm_id": 1 }, "by_time"),
            ])
            .await
            .map_err(to_store_error)?;
        Ok(())
    }

    fn next_rev(&self) -> String {
        format!(
            "{:016x}-{}",
            self.writer.random,
            self.writer.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Drops this store's database; for tests.
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.db.drop().await.map_err(to_store_error)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The claim document while `claim` is still its holder's at its epoch: the condition of
/// every write made under a claim (compare-and-set on the fencing token).
fn held(claim: &DigestClaim) -> Document {
    doc! { "_id": claim.user_id.as_str(), "holder": &claim.holder, "epoch": claim.epoch as i64 }
}

#[async_trait]
impl AlarmStore for MongoStore {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        apply::apply(self, events).await
    }

    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        let docs: Vec<Document> = documents::find_whole(
            self.alarms
                .find(doc! { "user_id": user.as_str(), "due": true })
                .sort(doc! { "changed_at": 1, "alarm_id": 1 })
                .projection(doc! { "_id": 0, "alarm_id": 1, "status": 1, "changed_at": 1 }),
        )
        .await?;
        docs.iter().map(parse_due).collect()
    }

    async fn prepare_digest(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        let result = self
            .claims
            .update_one(
                held(claim),
                doc! { "$set": { "pending": store_codec::prepared::encode(digest) } },
            )
            .await
            .map_err(to_store_error)?;
        Ok(result.matched_count == 1)
    }

    async fn abandon_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        let result = self
            .claims
            .update_one(held(claim), doc! { "$set": { "pending": null } })
            .await
            .map_err(to_store_error)?;
        Ok(result.matched_count == 1)
    }

    async fn record_delivery(&self, claim: &DigestClaim, digest: &PreparedDigest) -> Result<bool, StoreError> {
        let (alarms, request) = (&digest.alarms, digest.request.as_deref());
        // The alarms first, the claim last: a claim counted and cleared with its alarms not
        // yet recorded would let the next digest send them again. A claim lost meanwhile
        // leaves these versions recorded (they were published) and the claim to its holder.
        let mut pending: Vec<&DueAlarm> = alarms.iter().collect();
        for _ in 0..CAS_ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            let now = now_ms();
            let stored = cas::read(
                &self.alarms,
                cas::ids(pending.iter().map(|a| (&claim.user_id, &a.alarm_id))),
            )
            .await?;
            let writes = pending
                .iter()
                .filter_map(|a| {
                    let before = stored.get(&documents::alarm_id(&claim.user_id, &a.alarm_id))?;
                    let mut state = before.state;
                    state.record_delivery(a.version);
                    (state != before.state).then(|| cas::Write {
                        user: &claim.user_id,
                        alarm: &a.alarm_id,
                        expected_rev: before.rev.clone(),
                        resolved_ms: before.resolved_ms,
                        state,
                        meta: before.meta.clone(),
                        history: Vec::new(),
                        delivered_now: true,
                        changes_state: true,
                    })
                })
                .collect();
            let cap = self.history.events_per_alarm;
            let conflicts = cas::commit(&self.db, &self.alarms, ALARMS, writes, || self.next_rev(), now, cap).await?;
            pending.retain(|a| conflicts.contains(&documents::alarm_id(&claim.user_id, &a.alarm_id)));
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable(
                format!("{} delivery records kept losing write races; retry", pending.len()).into(),
            ));
        }
        let sent = doc! { "id": &digest.id, "at": now_ms(), "alarms": alarms.len() as i64 };
        let mut push = doc! { "sent": { "$each": [sent], "$slice": -(SENT_DIGESTS_KEPT as i64) } };
        if let Some(request) = request {
            push.insert(
                "answered",
                doc! { "$each": [request], "$slice": -(ANSWERED_REQUESTS_KEPT as i64) },
            );
        }
        let update = doc! { "$inc": { "epoch": 1_i64 }, "$set": { "pending": null }, "$push": push };
        let counted = self
            .claims
            .update_one(held(claim), update)
            .await
            .map_err(to_store_error)?;
        Ok(counted.matched_count == 1)
    }

    async fn claim_digest(
        &self,
        user: &UserId,
        holder: &str,
        now: EventTime,
        ttl: Duration,
    ) -> Result<Option<DigestClaim>, StoreError> {
        let now_ms = now.as_nanos() / 1_000_000;
        let expires_at_ms = now_ms.saturating_add(ttl.as_millis() as i64);
        let update = vec![pipeline::claim(holder, now_ms, expires_at_ms)];
        let filter = doc! { "_id": user.as_str() };
        for _ in 0..=INSERT_RACE_RETRIES {
            // The decision is taken by the update; the document it returns (after the
            // update, in the same command) tells who holds the claim.
            let after = self
                .claims
                .find_one_and_update(filter.clone(), update.clone())
                .return_document(ReturnDocument::After)
                .await
                .map_err(to_store_error)?;
            let Some(after) = after else {
                let first =
                    doc! { "_id": user.as_str(), "holder": holder, "expires_at_ms": expires_at_ms, "epoch": 0_i64 };
                match self.claims.insert_one(&first).await {
                    Ok(_) => {
                        let claim = DigestClaim {
                            user_id: user.clone(),
                            holder: holder.into(),
                            epoch: 0,
                            expires_at_ms,
                            pending: None,
                            answered: vec![],
                        };
                        return Ok(Some(claim));
                    }
                    Err(e) if is_duplicate_key(&e) => continue,
                    Err(e) => return Err(to_store_error(e)),
                }
            };
            if after.get_str("holder").ok() != Some(holder) {
                return Ok(None);
            }
            let epoch = documents::int(&after, "epoch").unwrap_or(0).max(0) as u64;
            let pending = after
                .get_str("pending")
                .ok()
                .map(store_codec::prepared::decode)
                .transpose()?;
            let answered = after
                .get_array("answered")
                .map(|ids| ids.iter().filter_map(|b| b.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            return Ok(Some(DigestClaim {
                user_id: user.clone(),
                holder: holder.to_string(),
                epoch,
                expires_at_ms,
                pending,
                answered,
            }));
        }
        Err(StoreError::Unavailable(
            format!("digest claim of {user} kept losing insert races").into(),
        ))
    }

    async fn release_digest(&self, claim: &DigestClaim) -> Result<bool, StoreError> {
        let released = self
            .claims
            .update_one(
                doc! { "_id": claim.user_id.as_str(), "holder": &claim.holder },
                doc! { "$set": { "holder": null, "expires_at_ms": 0_i64 } },
            )
            .await
            .map_err(to_store_error)?;
        Ok(released.matched_count == 1)
    }

    async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        let found = self
            .claims
            .find_one(doc! { "_id": user.as_str() })
            .projection(doc! { "sent": 1 })
            .await
            .map_err(to_store_error)?;
        let corrupt = |e: String| StoreError::Corrupt(format!("sent digests of {user}: {e}").into());
        let Some(found) = found else { return Ok(Vec::new()) };
        let Ok(sent) = found.get_array("sent") else {
            return Ok(Vec::new());
        };
        let mut digests = sent
            .iter()
            .map(|entry| {
                let entry = entry
                    .as_document()
                    .ok_or_else(|| corrupt("an entry is not a document".into()))?;
                Ok(SentDigest {
                    id: entry.get_str("id").map_err(|e| corrupt(e.to_string()))?.to_string(),
                    recorded_ms: entry.get_i64("at").map_err(|e| corrupt(e.to_string()))?,
                    alarms: entry.get_i64("alarms").map_err(|e| corrupt(e.to_string()))? as usize,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        digests.reverse();
        Ok(digests)
    }

    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        let found = self
            .alarms
            .find_one(alarm_key(user, alarm))
            .await
            .map_err(to_store_error)?;
        found.as_ref().map(parse_record).transpose()
    }

    async fn list_alarms(&self, filter: &AlarmFilter, page: &PageRequest) -> Result<Page<AlarmRecord>, StoreError> {
        queries::list(&self.alarms, filter, page).await
    }

    async fn history(&self, user: &UserId, alarm: &AlarmId) -> Result<Vec<HistoryEntry>, StoreError> {
        let found = self
            .alarms
            .find_one(alarm_key(user, alarm))
            .projection(doc! { "history": 1 })
            .await
            .map_err(to_store_error)?;
        Ok(found.as_ref().map(documents::parse_history).unwrap_or_default())
    }

    async fn acknowledge(&self, user: &UserId, alarm: &AlarmId, at: EventTime) -> Result<AckOutcome, StoreError> {
        queries::acknowledge(&self.alarms, user, alarm, at).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let (tombstones, removed) = retention::totals(self).await?;
        Ok(Counts {
            tombstones,
            removed,
            ..queries::counts(&self.alarms).await?
        })
    }

    async fn trim_history(&self) -> Result<u64, StoreError> {
        queries::trim_history(&self.alarms, self.history).await
    }

    async fn sweep(&self, sweep: &Sweep) -> Result<Swept, StoreError> {
        retention::sweep(self, sweep).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(to_store_error)?;
        Ok(())
    }
}

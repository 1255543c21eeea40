//! The MongoDB store, shared by replicas: every decision is one atomic pipeline update.

mod documents;
mod errors;
mod pipeline;

use crate::domain::ports::{AlarmRecord, AlarmStore, DigestClaim, StoreError};
use crate::domain::{AlarmEvent, AlarmId, ApplyOutcome, DueAlarm, EventTime, UserId};
use async_trait::async_trait;
use documents::{alarm_key, parse_due, parse_record, parse_state};
use errors::{is_duplicate_key, to_store_error};
use futures::{stream, StreamExt, TryStreamExt};
use mongodb::bson::{doc, Document};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, Database, IndexModel};
use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Duration;

/// The database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "alarm_digest";
/// How many events of one batch are in flight to the server at once.
const APPLY_CONCURRENCY: usize = 32;
/// How often a first insert that lost the race to another writer of the same key is
/// retried as an update. Inserts are separate from updates (no upsert) because some
/// MongoDB-wire servers report the wrong pre-image for racing upserts.
const INSERT_RACE_RETRIES: usize = 5;

/// The MongoDB [`AlarmStore`].
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    alarms: Collection<Document>,
    claims: Collection<Document>,
}

impl MongoStore {
    /// Connects, picks the database (`database`, else the URI's path, else
    /// [`DEFAULT_DATABASE`]) and creates the indexes the queries need.
    pub async fn connect(uri: &str, database: Option<&str>) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(to_store_error)?;
        options.app_name.get_or_insert_with(|| "alarm-digest".into());
        options.server_selection_timeout.get_or_insert(Duration::from_secs(5));
        options.connect_timeout.get_or_insert(Duration::from_secs(5));
        let name = database
            .map(str::to_string)
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.into());
        let client = Client::with_options(options).map_err(to_store_error)?;
        let db = client.database(&name);
        let store = Self {
            alarms: db.collection("alarms"),
            claims: db.collection("digest_claims"),
            db,
        };
        store.create_indexes().await?;
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

    /// Drops this store's database; for tests.
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.db.drop().await.map_err(to_store_error)
    }

    async fn apply_one(&self, ev: &AlarmEvent, now_ms: i64) -> Result<ApplyOutcome, StoreError> {
        let meta = [
            ("name", &ev.metadata.name),
            ("service", &ev.metadata.service),
            ("user_name", &ev.metadata.user_name),
        ];
        let update = vec![
            pipeline::apply_registers(ev.user_id.as_str(), ev.alarm_id.as_str(), ev.version, &meta, now_ms),
            pipeline::derive_latest(),
            pipeline::derive_due(),
        ];
        for _ in 0..=INSERT_RACE_RETRIES {
            let before = self
                .alarms
                .find_one_and_update(alarm_key(&ev.user_id, &ev.alarm_id), update.clone())
                .return_document(ReturnDocument::Before)
                .await
                .map_err(to_store_error)?;
            if let Some(doc) = before {
                return Ok(parse_state(&doc)?.apply(ev.version));
            }
            match self.alarms.insert_one(documents::new_alarm(ev, now_ms)).await {
                Ok(_) => return Ok(ApplyOutcome::Applied),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "alarm {} kept losing insert races",
            ev.alarm_id
        )))
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl AlarmStore for MongoStore {
    async fn apply(&self, events: &[AlarmEvent]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let now = now_ms();
        // Alarms run concurrently; events of one alarm run in batch order, so each outcome
        // is the one a sequential apply would report.
        let mut chains: HashMap<(&UserId, &AlarmId), Vec<usize>> = HashMap::new();
        for (i, ev) in events.iter().enumerate() {
            chains.entry((&ev.user_id, &ev.alarm_id)).or_default().push(i);
        }
        let pending: Vec<_> = chains
            .into_values()
            .map(|chain| async move {
                let mut done = Vec::with_capacity(chain.len());
                for i in chain {
                    done.push((i, self.apply_one(&events[i], now).await?));
                }
                Ok::<_, StoreError>(done)
            })
            .collect();
        let mut outcomes = vec![ApplyOutcome::Duplicate; events.len()];
        let mut chains = stream::iter(pending).buffer_unordered(APPLY_CONCURRENCY);
        while let Some(chain) = chains.next().await {
            for (i, outcome) in chain? {
                outcomes[i] = outcome;
            }
        }
        Ok(outcomes)
    }

    async fn due_alarms(&self, user: &UserId) -> Result<Vec<DueAlarm>, StoreError> {
        let docs: Vec<Document> = self
            .alarms
            .find(doc! { "user_id": user.as_str(), "due": true })
            .sort(doc! { "changed_at": 1, "alarm_id": 1 })
            .projection(doc! { "_id": 0, "alarm_id": 1, "status": 1, "changed_at": 1 })
            .await
            .map_err(to_store_error)?
            .try_collect()
            .await
            .map_err(to_store_error)?;
        docs.iter().map(parse_due).collect()
    }

    async fn record_delivery(&self, claim: &DigestClaim, alarms: &[DueAlarm]) -> Result<(), StoreError> {
        let now = now_ms();
        let pending: Vec<_> = alarms
            .iter()
            .map(|alarm| {
                let update = vec![pipeline::record_delivery(alarm.version, now), pipeline::derive_due()];
                self.alarms
                    .update_one(alarm_key(&claim.user_id, &alarm.alarm_id), update)
                    .into_future()
            })
            .collect();
        stream::iter(pending)
            .buffered(APPLY_CONCURRENCY)
            .map(|r| r.map_err(to_store_error))
            .try_collect::<Vec<_>>()
            .await?;
        self.claims
            .update_one(
                doc! { "_id": claim.user_id.as_str() },
                doc! { "$inc": { "epoch": 1_i64 } },
            )
            .upsert(true)
            .await
            .map_err(to_store_error)?;
        Ok(())
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
        let mut after = None;
        for _ in 0..=INSERT_RACE_RETRIES {
            after = self
                .claims
                .find_one_and_update(doc! { "_id": user.as_str() }, update.clone())
                .return_document(ReturnDocument::After)
                .await
                .map_err(to_store_error)?;
            if after.is_some() {
                break;
            }
            let first = doc! { "_id": user.as_str(), "holder": holder, "expires_at_ms": expires_at_ms, "epoch": 0_i64 };
            match self.claims.insert_one(&first).await {
                Ok(_) => {
                    after = Some(first);
                    break;
                }
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        let after =
            after.ok_or_else(|| StoreError::Unavailable(format!("digest claim of {user} kept losing insert races")))?;
        if after.get_str("holder").ok() != Some(holder) {
            return Ok(None);
        }
        let epoch = documents::int(&after, "epoch").unwrap_or(0).max(0) as u64;
        Ok(Some(DigestClaim {
            user_id: user.clone(),
            holder: holder.to_string(),
            epoch,
            expires_at_ms,
        }))
    }

    async fn release_digest(&self, claim: &DigestClaim) -> Result<(), StoreError> {
        self.claims
            .update_one(
                doc! { "_id": claim.user_id.as_str(), "holder": &claim.holder },
                doc! { "$set": { "holder": null, "expires_at_ms": 0_i64 } },
            )
            .await
            .map_err(to_store_error)?;
        Ok(())
    }

    async fn alarm(&self, user: &UserId, alarm: &AlarmId) -> Result<Option<AlarmRecord>, StoreError> {
        let found = self
            .alarms
            .find_one(alarm_key(user, alarm))
            .await
            .map_err(to_store_error)?;
        found.as_ref().map(parse_record).transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(to_store_error)?;
        Ok(())
    }
}

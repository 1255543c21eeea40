//! The pager over MongoDB: single-document writes filtered on the revision read
//! (compare-and-set), inserts that lose to E11000 instead of upserts, claims filtered on
//! the `due_at` value read, and sent notifications keyed by their idempotency key as `_id`.

use super::documents::{find_whole, int};
use super::errors::{is_duplicate_key, to_store_error};
use super::MongoStore;
use async_trait::async_trait;
use domain::pager::{EscalationPolicy, Notification, PagerRecord, PagerStore, PolicyRepository, SentNotification};
use domain::ports::StoreError;
use domain::{EventTime, ServiceId};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use store_codec::pager as codec;

const POLICIES: &str = "pager_policies";
const SERVICES: &str = "pager_services";
const NOTIFICATIONS: &str = "pager_notifications";
/// How often a policy write that lost an insert race is retried as an update.
const INSERT_RACE_RETRIES: usize = 5;

impl MongoStore {
    fn pager(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// The indexes the timer claim and the notification sweep scan; notification keys are
    /// `_id`s, unique by nature.
    pub(super) async fn create_pager_indexes(&self) -> Result<(), StoreError> {
        let due = IndexModel::builder()
            .keys(doc! { "due_at": 1 })
            .options(IndexOptions::builder().name("due_at".to_string()).build())
            .build();
        self.pager(SERVICES).create_index(due).await.map_err(to_store_error)?;
        let sent = IndexModel::builder()
            .keys(doc! { "sent_at": 1 })
            .options(IndexOptions::builder().name("by_sent".to_string()).build())
            .build();
        self.pager(NOTIFICATIONS)
            .create_index(sent)
            .await
            .map_err(to_store_error)?;
        let by_service = IndexModel::builder()
            .keys(doc! { "service_id": 1, "sent_at": -1, "_id": -1 })
            .options(IndexOptions::builder().name("by_service".to_string()).build())
            .build();
        self.pager(NOTIFICATIONS)
            .create_index(by_service)
            .await
            .map_err(to_store_error)?;
        Ok(())
    }
}

fn text<'a>(doc: &'a Document, key: &str) -> Result<&'a str, StoreError> {
    doc.get_str(key)
        .map_err(|_| StoreError::Corrupt(format!("pager document {:?} has no {key}", doc.get("_id")).into()))
}

/// Up to `limit` documents of a collection keyed by ServiceID, by ascending `_id`, after
/// `after` (only `projection`'s fields when given): one page of services or policies.
async fn page_by_id(
    collection: &Collection<Document>,
    after: Option<&ServiceId>,
    limit: usize,
    projection: Option<Document>,
) -> Result<Vec<Document>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let filter = match after {
        Some(after) => doc! { "_id": { "$gt": after.as_str() } },
        None => doc! {},
    };
    let mut find = collection.find(filter).sort(doc! { "_id": 1 }).limit(limit as i64);
    if let Some(projection) = projection {
        find = find.projection(projection);
    }
    find_whole(find).await
}

fn service_id(id: &str) -> Result<ServiceId, StoreError> {
    ServiceId::parse(id).map_err(|e| StoreError::Corrupt(format!("service id: {e}").into()))
}

fn record(d: &Document) -> Result<PagerRecord, StoreError> {
    Ok(PagerRecord {
        revision: int(d, "revision").unwrap_or(0).max(0) as u64,
        state: codec::decode_state(text(d, "state")?)?,
        outbox: codec::decode_outbox(text(d, "outbox")?)?,
        due_at: int(d, "due_at").map(EventTime::from_nanos),
    })
}

#[async_trait]
impl PolicyRepository for MongoStore {
    async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, StoreError> {
        let found = self
            .pager(POLICIES)
            .find_one(doc! { "_id": service.as_str() })
            .await
            .map_err(to_store_error)?;
        found
            .map(|d| codec::decode_policy(service, text(&d, "policy")?))
            .transpose()
    }

    async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, StoreError> {
        let id = policy.service_id().as_str();
        let encoded = codec::encode_policy(policy);
        let now = chrono::Utc::now().timestamp_millis();
        let policies = self.pager(POLICIES);
        for _ in 0..=INSERT_RACE_RETRIES {
            let replaced = policies
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "policy": &encoded, "updated_ms": now } },
                )
                .await
                .map_err(to_store_error)?;
            if replaced.matched_count == 1 {
                return Ok(false);
            }
            match policies
                .insert_one(doc! { "_id": id, "policy": &encoded, "updated_ms": now })
                .await
            {
                Ok(_) => return Ok(true),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        Err(StoreError::Unavailable(
            format!("policy of {id} kept losing insert races").into(),
        ))
    }

    async fn services_with_policy(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        let found = page_by_id(&self.pager(POLICIES), after, limit, Some(doc! { "_id": 1 })).await?;
        found.iter().map(|d| service_id(text(d, "_id")?)).collect()
    }

    async fn delete_policy(&self, service: &ServiceId) -> Result<bool, StoreError> {
        let deleted = self
            .pager(POLICIES)
            .delete_one(doc! { "_id": service.as_str() })
            .await
            .map_err(to_store_error)?;
        Ok(deleted.deleted_count == 1)
    }
}

#[async_trait]
impl PagerStore for MongoStore {
    async fn sweep_notifications(&self, sent_before_ms: i64, limit: usize) -> Result<u64, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        // `sent_at` is the EventTime's nanoseconds.
        let sent_before = doc! { "sent_at": { "$lt": sent_before_ms.saturating_mul(1_000_000) } };
        let notifications = self.pager(NOTIFICATIONS);
        let oldest: Vec<Document> = notifications
            .find(sent_before.clone())
            .sort(doc! { "sent_at": 1 })
            .limit(limit as i64)
            .projection(doc! { "_id": 1 })
            .await
            .map_err(to_store_error)?
            .try_collect()
            .await
            .map_err(to_store_error)?;
        if oldest.is_empty() {
            return Ok(0);
        }
        let ids: Vec<_> = oldest.iter().filter_map(|d| d.get("_id").cloned()).collect();
        let mut filter = sent_before;
        filter.insert("_id", doc! { "$in": ids });
        let deleted = notifications.delete_many(filter).await.map_err(to_store_error)?;
        Ok(deleted.deleted_count)
    }

    async fn pager_record(&self, service: &ServiceId) -> Result<Option<PagerRecord>, StoreError> {
        let found = self
            .pager(SERVICES)
            .find_one(doc! { "_id": service.as_str() })
            .await
            .map_err(to_store_error)?;
        found.as_ref().map(record).transpose()
    }

    async fn services(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<(ServiceId, PagerRecord)>, StoreError> {
        let found = page_by_id(&self.pager(SERVICES), after, limit, None).await?;
        found
            .iter()
            .map(|d| Ok((service_id(text(d, "_id")?)?, record(d)?)))
            .collect()
    }

    async fn sent_notifications(&self, service: &ServiceId, limit: usize) -> Result<Vec<SentNotification>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found: Vec<Document> = self
            .pager(NOTIFICATIONS)
            .find(doc! { "service_id": service.as_str() })
            .sort(doc! { "sent_at": -1, "_id": -1 })
            .limit(limit as i64)
            .await
            .map_err(to_store_error)?
            .try_collect()
            .await
            .map_err(to_store_error)?;
        found
            .iter()
            .map(|d| {
                Ok(SentNotification {
                    notification: codec::decode_notification(text(d, "notification")?)?,
                    sent_at: EventTime::from_nanos(int(d, "sent_at").ok_or_else(|| {
                        StoreError::Corrupt(format!("notification {:?} has no sent_at", d.get("_id")).into())
                    })?),
                })
            })
            .collect()
    }

    async fn save_pager_record(
        &self,
        service: &ServiceId,
        expected_revision: u64,
        record: &PagerRecord,
    ) -> Result<bool, StoreError> {
        let fields = doc! {
            "revision": expected_revision as i64 + 1,
            "state": codec::encode_state(&record.state),
            "outbox": codec::encode_outbox(&record.outbox),
            "due_at": record.due_at.map(EventTime::as_nanos),
        };
        let services = self.pager(SERVICES);
        if expected_revision == 0 {
            let mut first = doc! { "_id": service.as_str() };
            first.extend(fields);
            return match services.insert_one(first).await {
                Ok(_) => Ok(true),
                Err(e) if is_duplicate_key(&e) => Ok(false),
                Err(e) => Err(to_store_error(e)),
            };
        }
        let updated = services
            .update_one(
                doc! { "_id": service.as_str(), "revision": expected_revision as i64 },
                doc! { "$set": fields },
            )
            .await
            .map_err(to_store_error)?;
        Ok(updated.matched_count == 1)
    }

    async fn claim_due(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        let services = self.pager(SERVICES);
        let candidates: Vec<Document> = services
            .find(doc! { "due_at": { "$lte": now.as_nanos() } })
            .sort(doc! { "due_at": 1 })
            .limit(limit as i64)
            .projection(doc! { "_id": 1, "due_at": 1 })
            .await
            .map_err(to_store_error)?
            .try_collect()
            .await
            .map_err(to_store_error)?;
        let mut claimed = Vec::new();
        for candidate in candidates {
            let (Ok(id), Some(due)) = (candidate.get_str("_id"), int(&candidate, "due_at")) else {
                continue;
            };
            // Filtering on the value read: of racing claimers, only the first matches.
            let taken = services
                .update_one(
                    doc! { "_id": id, "due_at": due },
                    doc! { "$set": { "due_at": claim_until.as_nanos() } },
                )
                .await
                .map_err(to_store_error)?;
            if taken.matched_count == 1 {
                claimed.push(service_id(id)?);
            }
        }
        Ok(claimed)
    }

    async fn notification_sent(&self, key: &str) -> Result<bool, StoreError> {
        let found = self
            .pager(NOTIFICATIONS)
            .find_one(doc! { "_id": key })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(to_store_error)?;
        Ok(found.is_some())
    }

    async fn record_notification(&self, notification: &Notification, sent_at: EventTime) -> Result<bool, StoreError> {
        let record = doc! {
            "_id": notification.key(),
            "service_id": notification.service_id.as_str(),
            "notification": codec::encode_notification(notification),
            "sent_at": sent_at.as_nanos(),
        };
        match self.pager(NOTIFICATIONS).insert_one(record).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(to_store_error(e)),
        }
    }
}

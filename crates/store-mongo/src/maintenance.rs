//! Maintenance windows over MongoDB: one document per window, `_id` its id, its body in the
//! shared JSON codec beside the two times the store itself reads (`starts_at`, where it
//! sorts; `ends_at`, when it ends for good, null when never).

use super::errors::{is_duplicate_key, to_store_error};
use super::MongoStore;
use async_trait::async_trait;
use domain::pager::{MaintenanceStore, MaintenanceWindow};
use domain::ports::StoreError;
use domain::EventTime;
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use store_codec::maintenance::{decode_window, encode_window};

const WINDOWS: &str = "maintenance_windows";
/// How often a first insert that lost the race to another writer is retried as an update.
const INSERT_RACE_RETRIES: usize = 5;

impl MongoStore {
    fn maintenance_windows(&self) -> Collection<Document> {
        self.db.collection(WINDOWS)
    }

    /// The listing's order and retention's range.
    pub(super) async fn create_window_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_string()).build())
                .build()
        };
        self.maintenance_windows()
            .create_indexes([
                index(doc! { "starts_at": 1, "_id": 1 }, "by_start"),
                index(doc! { "ends_at": 1 }, "by_end"),
            ])
            .await
            .map_err(to_store_error)?;
        Ok(())
    }
}

fn decode(d: &Document) -> Result<MaintenanceWindow, StoreError> {
    let field = |key: &str| {
        d.get_str(key)
            .map_err(|_| StoreError::Corrupt(format!("maintenance window {:?} has no {key}", d.get("_id")).into()))
    };
    decode_window(field("_id")?, field("body")?)
}

#[async_trait]
impl MaintenanceStore for MongoStore {
    async fn put_window(&self, window: &MaintenanceWindow) -> Result<bool, StoreError> {
        let fields = doc! {
            "starts_at": window.listed_at().as_nanos(),
            "ends_at": window.final_end().map(|e| e.as_nanos()),
            "body": encode_window(window),
        };
        let windows = self.maintenance_windows();
        for _ in 0..=INSERT_RACE_RETRIES {
            let replaced = windows
                .update_one(doc! { "_id": &window.id }, doc! { "$set": fields.clone() })
                .await
                .map_err(to_store_error)?;
            if replaced.matched_count == 1 {
                return Ok(false);
            }
            let mut first = doc! { "_id": &window.id };
            first.extend(fields.clone());
            match windows.insert_one(first).await {
                Ok(_) => return Ok(true),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(to_store_error(e)),
            }
        }
        Err(StoreError::Unavailable(
            format!("maintenance window {} kept losing insert races", window.id).into(),
        ))
    }

    async fn window(&self, id: &str) -> Result<Option<MaintenanceWindow>, StoreError> {
        let found = self
            .maintenance_windows()
            .find_one(doc! { "_id": id })
            .await
            .map_err(to_store_error)?;
        found.as_ref().map(decode).transpose()
    }

    async fn windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let found = super::documents::find_whole(
            self.maintenance_windows()
                .find(doc! {})
                .sort(doc! { "starts_at": 1, "_id": 1 }),
        )
        .await?;
        found.iter().map(decode).collect()
    }

    async fn delete_window(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .maintenance_windows()
            .delete_one(doc! { "_id": id })
            .await
            .map_err(to_store_error)?;
        Ok(deleted.deleted_count == 1)
    }

    async fn delete_windows_ended_before(&self, before: EventTime) -> Result<u64, StoreError> {
        // `$lt` on a number never matches the null `ends_at` of a window that never ends.
        let deleted = self
            .maintenance_windows()
            .delete_many(doc! { "ends_at": { "$lt": before.as_nanos() } })
            .await
            .map_err(to_store_error)?;
        Ok(deleted.deleted_count)
    }
}

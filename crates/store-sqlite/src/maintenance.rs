//! Maintenance windows over SQLite: one row per window, its body in the shared JSON codec,
//! beside the two times the store itself reads (where it sorts, when it ends for good).

use super::SqliteStore;
use async_trait::async_trait;
use domain::pager::{MaintenanceStore, MaintenanceWindow};
use domain::ports::StoreError;
use domain::EventTime;
use rusqlite::{params, OptionalExtension};
use store_codec::maintenance::{decode_window, encode_window};

#[async_trait]
impl MaintenanceStore for SqliteStore {
    async fn put_window(&self, window: &MaintenanceWindow) -> Result<bool, StoreError> {
        let id = window.id.clone();
        let (starts_at, ends_at) = (window.listed_at().as_nanos(), window.final_end().map(|e| e.as_nanos()));
        let body = encode_window(window);
        self.write(move |conn| {
            let existed: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM maintenance_windows WHERE window_id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            conn.execute(
                "INSERT INTO maintenance_windows (window_id, starts_at, ends_at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (window_id) DO UPDATE SET starts_at = excluded.starts_at,
                     ends_at = excluded.ends_at, body = excluded.body",
                params![id, starts_at, ends_at, body],
            )?;
            Ok(!existed)
        })
        .await
    }

    async fn window(&self, id: &str) -> Result<Option<MaintenanceWindow>, StoreError> {
        let key = id.to_string();
        let body: Option<String> = self
            .read(move |conn| {
                conn.query_row(
                    "SELECT body FROM maintenance_windows WHERE window_id = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        body.map(|text| decode_window(id, &text)).transpose()
    }

    async fn windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows: Vec<(String, String)> = self
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT window_id, body FROM maintenance_windows ORDER BY starts_at, window_id")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect();
                rows
            })
            .await?;
        rows.iter().map(|(id, text)| decode_window(id, text)).collect()
    }

    async fn delete_window(&self, id: &str) -> Result<bool, StoreError> {
        let key = id.to_string();
        self.write(move |conn| Ok(conn.execute("DELETE FROM maintenance_windows WHERE window_id = ?1", [key])? == 1))
            .await
    }

    async fn delete_windows_ended_before(&self, before: EventTime) -> Result<u64, StoreError> {
        // A NULL `ends_at` (a window that never ends) is never less than anything.
        self.write(move |conn| {
            let removed = conn.execute(
                "DELETE FROM maintenance_windows WHERE ends_at < ?1",
                [before.as_nanos()],
            )?;
            Ok(removed as u64)
        })
        .await
    }
}

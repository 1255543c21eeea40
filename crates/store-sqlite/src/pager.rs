//! The pager over SQLite: every write runs in the single writer's transaction, so a
//! conditional update is a `WHERE revision = ?` and a claim an `UPDATE ... RETURNING`.

use super::SqliteStore;
use async_trait::async_trait;
use domain::pager::{EscalationPolicy, Notification, PagerRecord, PagerStore, PolicyRepository, SentNotification};
use domain::ports::StoreError;
use domain::{EventTime, ServiceId};
use rusqlite::{params, Connection, OptionalExtension};
use store_codec::pager as codec;

/// A stored row before decoding: revision, state, outbox, due_at.
type RawRecord = (i64, String, String, Option<i64>);

fn read_record(conn: &Connection, service: &str) -> rusqlite::Result<Option<RawRecord>> {
    conn.query_row(
        "SELECT revision, state, outbox, due_at FROM pager_services WHERE service_id = ?1",
        [service],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .optional()
}

fn decode_record((revision, state, outbox, due_at): RawRecord) -> Result<PagerRecord, StoreError> {
    Ok(PagerRecord {
        revision: revision as u64,
        state: codec::decode_state(&state)?,
        outbox: codec::decode_outbox(&outbox)?,
        due_at: due_at.map(EventTime::from_nanos),
    })
}

fn service_id(id: String) -> Result<ServiceId, StoreError> {
    ServiceId::parse(id).map_err(|e| StoreError::Corrupt(format!("service id: {e}").into()))
}

fn save(conn: &Connection, service: &str, expected: u64, record: &PagerRecord) -> rusqlite::Result<bool> {
    let state = codec::encode_state(&record.state);
    let outbox = codec::encode_outbox(&record.outbox);
    let due = record.due_at.map(EventTime::as_nanos);
    let changed = if expected == 0 {
        conn.execute(
            "INSERT INTO pager_services (service_id, revision, state, outbox, due_at) VALUES (?1, 1, ?2, ?3, ?4)
             ON CONFLICT (service_id) DO NOTHING",
            params![service, state, outbox, due],
        )?
    } else {
        conn.execute(
            "UPDATE pager_services SET revision = revision + 1, state = ?3, outbox = ?4, due_at = ?5
             WHERE service_id = ?1 AND revision = ?2",
            params![service, expected as i64, state, outbox, due],
        )?
    };
    Ok(changed == 1)
}

fn claim_due(conn: &Connection, now: i64, until: i64, limit: usize) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE pager_services SET due_at = ?2
         WHERE service_id IN (SELECT service_id FROM pager_services WHERE due_at <= ?1 ORDER BY due_at LIMIT ?3)
         RETURNING service_id",
    )?;
    let ids = stmt
        .query_map(params![now, until, limit as i64], |r| r.get(0))?
        .collect();
    ids
}

#[async_trait]
impl PolicyRepository for SqliteStore {
    async fn policy(&self, service: &ServiceId) -> Result<Option<EscalationPolicy>, StoreError> {
        let id = service.as_str().to_string();
        let text: Option<String> = self
            .read(move |conn| {
                conn.query_row("SELECT policy FROM pager_policies WHERE service_id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await?;
        text.map(|t| codec::decode_policy(service, &t)).transpose()
    }

    async fn put_policy(&self, policy: &EscalationPolicy) -> Result<bool, StoreError> {
        let id = policy.service_id().as_str().to_string();
        let text = codec::encode_policy(policy);
        self.write(move |conn| {
            let existed: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM pager_policies WHERE service_id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            conn.execute(
                "INSERT INTO pager_policies (service_id, policy, updated_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (service_id) DO UPDATE SET policy = excluded.policy, updated_ms = excluded.updated_ms",
                params![id, text, super::now_ms()],
            )?;
            Ok(!existed)
        })
        .await
    }

    async fn services_with_policy(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        let after = after.map(|s| s.as_str().to_string());
        let ids: Vec<String> = self
            .read(move |conn| {
                // As for `services`: one statement per case, each a range of the primary key.
                let mut stmt = conn.prepare_cached(match after {
                    Some(_) => {
                        "SELECT service_id FROM pager_policies WHERE service_id > ?1 ORDER BY service_id LIMIT ?2"
                    }
                    None => "SELECT service_id FROM pager_policies WHERE ?1 IS NULL ORDER BY service_id LIMIT ?2",
                })?;
                let ids = stmt.query_map(params![after, limit as i64], |r| r.get(0))?.collect();
                ids
            })
            .await?;
        ids.into_iter().map(service_id).collect()
    }

    async fn delete_policy(&self, service: &ServiceId) -> Result<bool, StoreError> {
        let id = service.as_str().to_string();
        self.write(move |conn| Ok(conn.execute("DELETE FROM pager_policies WHERE service_id = ?1", [id])? == 1))
            .await
    }
}

#[async_trait]
impl PagerStore for SqliteStore {
    async fn pager_record(&self, service: &ServiceId) -> Result<Option<PagerRecord>, StoreError> {
        let id = service.as_str().to_string();
        let raw = self.read(move |conn| read_record(conn, &id)).await?;
        raw.map(decode_record).transpose()
    }

    async fn save_pager_record(
        &self,
        service: &ServiceId,
        expected_revision: u64,
        record: &PagerRecord,
    ) -> Result<bool, StoreError> {
        let (id, record) = (service.as_str().to_string(), record.clone());
        self.write(move |conn| save(conn, &id, expected_revision, &record))
            .await
    }

    async fn claim_due(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<ServiceId>, StoreError> {
        let (now, until) = (now.as_nanos(), claim_until.as_nanos());
        // Every replica asks every tick; most ticks find nothing, and a read says so without
        // queueing a transaction behind the writer's batches.
        let any_due: bool = self
            .read(move |conn| {
                conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM pager_services WHERE due_at <= ?1)",
                    [now],
                    |r| r.get(0),
                )
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        let ids = self.write(move |conn| claim_due(conn, now, until, limit)).await?;
        ids.into_iter().map(service_id).collect()
    }

    async fn notification_sent(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.read(move |conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM pager_notifications WHERE idempotency_key = ?1)",
                [key],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn record_notification(&self, notification: &Notification, sent_at: EventTime) -> Result<bool, StoreError> {
        let key = notification.key();
        let service = notification.service_id.as_str().to_string();
        let text = codec::encode_notification(notification);
        self.write(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO pager_notifications (idempotency_key, service_id, notification, sent_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (idempotency_key) DO NOTHING",
                params![key, service, text, sent_at.as_nanos()],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn services(
        &self,
        after: Option<&ServiceId>,
        limit: usize,
    ) -> Result<Vec<(ServiceId, PagerRecord)>, StoreError> {
        let after = after.map(|s| s.as_str().to_string());
        let rows: Vec<(String, RawRecord)> = self
            .read(move |conn| {
                // Two statements rather than `?1 IS NULL OR service_id > ?1`, which the
                // planner cannot answer with a range of the primary key.
                let mut stmt = conn.prepare_cached(match after {
                    Some(_) => {
                        "SELECT service_id, revision, state, outbox, due_at FROM pager_services
                         WHERE service_id > ?1 ORDER BY service_id LIMIT ?2"
                    }
                    None => {
                        "SELECT service_id, revision, state, outbox, due_at FROM pager_services
                         WHERE ?1 IS NULL ORDER BY service_id LIMIT ?2"
                    }
                })?;
                let rows = stmt
                    .query_map(params![after, limit as i64], |r| {
                        Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    })?
                    .collect();
                rows
            })
            .await?;
        rows.into_iter()
            .map(|(id, raw)| Ok((service_id(id)?, decode_record(raw)?)))
            .collect()
    }

    async fn sent_notifications(&self, service: &ServiceId, limit: usize) -> Result<Vec<SentNotification>, StoreError> {
        let id = service.as_str().to_string();
        let rows: Vec<(String, i64)> = self
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT notification, sent_at FROM pager_notifications WHERE service_id = ?1
                     ORDER BY sent_at DESC, idempotency_key DESC LIMIT ?2",
                )?;
                let rows = stmt
                    .query_map(params![id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect();
                rows
            })
            .await?;
        rows.into_iter()
            .map(|(text, sent_at)| {
                Ok(SentNotification {
                    notification: codec::decode_notification(&text)?,
                    sent_at: EventTime::from_nanos(sent_at),
                })
            })
            .collect()
    }

    async fn sweep_notifications(&self, sent_before_ms: i64, limit: usize) -> Result<u64, StoreError> {
        self.write(move |conn| super::retention::sweep_notifications(conn, sent_before_ms, limit))
            .await
    }
}

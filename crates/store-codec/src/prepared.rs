//! The stored form of a prepared digest and of the sent-digest log, shared by both
//! adapters: compact JSON text.

use domain::ports::{PreparedDigest, SentDigest, StoreError, SENT_DIGESTS_KEPT};
use domain::schedule::DigestCause;
use domain::{AlarmId, DueAlarm, EventTime, Status, Version};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    /// `[alarm id, status rank, event time in ns]` per alarm.
    alarms: Vec<(String, i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    /// The occurrence, in ns, of a scheduled digest; absent for a requested one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    occurrence: Option<i64>,
}

/// Encodes a prepared digest for a text column or string field.
pub fn encode(digest: &PreparedDigest) -> String {
    let stored = Stored {
        id: digest.id.clone(),
        alarms: digest
            .alarms
            .iter()
            .map(|a| {
                (
                    a.alarm_id.as_str().to_string(),
                    i64::from(a.version.status.rank()),
                    a.version.changed_at.as_nanos(),
                )
            })
            .collect(),
        request: digest.request.clone(),
        occurrence: match digest.cause {
            DigestCause::Requested => None,
            DigestCause::Scheduled { occurrence } => Some(occurrence.as_nanos()),
        },
    };
    serde_json::to_string(&stored).expect("a prepared digest always serializes")
}

/// Decodes what [`encode`] wrote.
pub fn decode(text: &str) -> Result<PreparedDigest, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("prepared digest: {e}").into());
    let stored: Stored = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let alarms = stored
        .alarms
        .into_iter()
        .map(|(id, rank, nanos)| {
            Ok(DueAlarm {
                alarm_id: AlarmId::parse(id).map_err(|e| corrupt(e.to_string()))?,
                version: Version {
                    changed_at: EventTime::from_nanos(nanos),
                    status: Status::from_rank(rank).ok_or_else(|| corrupt(format!("rank {rank}")))?,
                },
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(PreparedDigest {
        id: stored.id,
        alarms,
        request: stored.request,
        cause: stored
            .occurrence
            .map_or(DigestCause::Requested, |nanos| DigestCause::Scheduled {
                occurrence: EventTime::from_nanos(nanos),
            }),
    })
}

/// Appends `request` to the remembered ids, keeping the newest [`ANSWERED_REQUESTS_KEPT`].
pub fn remember(answered: &mut Vec<String>, request: &str) {
    use domain::ports::ANSWERED_REQUESTS_KEPT;
    answered.push(request.to_string());
    let excess = answered.len().saturating_sub(ANSWERED_REQUESTS_KEPT);
    answered.drain(..excess);
}

/// The sent-digest log as stored: `[id, recorded_ms, alarms]` per digest, oldest first.
type StoredSent = Vec<(String, i64, usize)>;

/// Appends `digest`, recorded at `recorded_ms`, to the log `text`, keeping the newest
/// [`SENT_DIGESTS_KEPT`]. An unreadable log starts afresh: it is for people, not decisions.
pub fn log_sent(text: &str, digest: &PreparedDigest, recorded_ms: i64) -> String {
    let mut sent: StoredSent = serde_json::from_str(text).unwrap_or_default();
    sent.push((digest.id.clone(), recorded_ms, digest.alarms.len()));
    let excess = sent.len().saturating_sub(SENT_DIGESTS_KEPT);
    sent.drain(..excess);
    serde_json::to_string(&sent).expect("strings and numbers serialize")
}

/// The log `text` newest first.
pub fn decode_sent(text: &str) -> Result<Vec<SentDigest>, StoreError> {
    let sent: StoredSent =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("sent digests: {e}").into()))?;
    Ok(sent
        .into_iter()
        .rev()
        .map(|(id, recorded_ms, alarms)| SentDigest {
            id,
            recorded_ms,
            alarms,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_digest_round_trips_with_its_cause() {
        let mut digest = PreparedDigest {
            id: "abc".into(),
            alarms: vec![DueAlarm {
                alarm_id: AlarmId::parse("a\"1").unwrap(),
                version: Version {
                    changed_at: EventTime::from_nanos(-5),
                    status: Status::Critical,
                },
            }],
            request: Some("7@1".into()),
            cause: DigestCause::Requested,
        };
        assert_eq!(decode(&encode(&digest)).unwrap(), digest);
        digest.cause = DigestCause::Scheduled {
            occurrence: EventTime::from_nanos(1_700_000_000_000_000_000),
        };
        assert_eq!(decode(&encode(&digest)).unwrap(), digest);
        assert!(decode("{").is_err());
    }

    #[test]
    fn a_digest_prepared_before_causes_were_kept_reads_as_requested() {
        let stored = r#"{"id":"abc","alarms":[],"request":"7@1"}"#;
        assert_eq!(decode(stored).unwrap().cause, DigestCause::Requested);
    }
}

//! The digest preview: what the user's next digest would hold right now, and why each
//! alarm is in it, beside the digests sent last. Read-only: it claims, prepares and
//! records nothing.

use super::Digests;
use domain::ports::{SentDigest, StoreError};
use domain::{Digest, DueAlarm, Reason, UserId};

/// One alarm of a previewed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewedAlarm {
    /// The alarm and the version a digest would report.
    pub alarm: DueAlarm,
    /// Why it is in the digest.
    pub reason: Reason,
    /// Its latest name, when known.
    pub name: Option<String>,
}

impl Digests {
    /// The digests recorded as sent to the user last, newest first.
    pub async fn sent_digests(&self, user: &UserId) -> Result<Vec<SentDigest>, StoreError> {
        self.store.sent_digests(user).await
    }

    /// The alarms the user's next digest would hold now, in digest order, each with its
    /// [`Reason`]. An alarm that stops being due between the two reads is left out, as a
    /// digest built then would leave it out.
    pub async fn preview(&self, user: &UserId) -> Result<Vec<PreviewedAlarm>, StoreError> {
        let digest = Digest::new(user.clone(), self.store.due_alarms(user).await?);
        let mut previewed = Vec::with_capacity(digest.alarms.len());
        // One read per due alarm: a digest holds few alarms, and the store has no read of
        // due alarms with their registers yet.
        for alarm in digest.alarms {
            let Some(record) = self.store.alarm(user, &alarm.alarm_id).await? else {
                continue;
            };
            if let Some(reason) = Reason::of(&record.state) {
                previewed.push(PreviewedAlarm {
                    alarm,
                    reason,
                    name: record.metadata.name,
                });
            }
        }
        Ok(previewed)
    }
}

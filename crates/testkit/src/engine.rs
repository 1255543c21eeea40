//! The engines' own speed: plain writes of the rows and documents the store adapters keep,
//! with no reads, no rules and no history, so the adapters can be reported as a fraction
//! of the engine they run on, measured in the same run.

pub mod mongo;
pub mod sqlite;

use domain::{AlarmEvent, Status};

/// What a plain write stores for one event, as if it were the alarm's only event: the
/// event's status register set to its time, the others empty.
pub struct Row<'a> {
    pub user_id: &'a str,
    pub alarm_id: &'a str,
    pub cleared_at: Option<i64>,
    pub warning_at: Option<i64>,
    pub critical_at: Option<i64>,
    pub status: &'static str,
    pub rank: i32,
    pub changed_at: i64,
    pub active: bool,
    pub name: Option<&'a str>,
    pub service: Option<&'a str>,
    pub user_name: Option<&'a str>,
}

impl<'a> Row<'a> {
    pub fn of(ev: &'a AlarmEvent) -> Self {
        let t = ev.version.changed_at.as_nanos();
        let status = ev.version.status;
        let at = |s: Status| (status == s).then_some(t);
        Row {
            user_id: ev.user_id.as_str(),
            alarm_id: ev.alarm_id.as_str(),
            cleared_at: at(Status::Cleared),
            warning_at: at(Status::Warning),
            critical_at: at(Status::Critical),
            status: status.as_str(),
            rank: i32::from(status.rank()),
            changed_at: t,
            active: status.is_active(),
            name: ev.metadata.name.as_deref(),
            service: ev.metadata.service.as_deref(),
            user_name: ev.metadata.user_name.as_deref(),
        }
    }
}

/// Milliseconds since the epoch, as the adapters stamp `updated_ms`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

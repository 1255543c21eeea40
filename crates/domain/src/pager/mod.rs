//! The pager: escalation policies, service health and incidents, the rules that decide
//! who is notified and when, and the ports the pager needs. Synchronous, no IO.

pub mod decide;
pub mod incident;
pub mod maintenance;
pub mod policy;
pub mod ports;

#[cfg(test)]
mod behaviours;

pub use decide::{Alert, Decision, Notification, Outcome};
pub use incident::{Acknowledgement, Incident, ServiceState};
pub use maintenance::{maintenance_until, MaintenanceStore, MaintenanceWindow, WindowError, WindowScope, WindowTiming};
pub use policy::{Channel, EscalationPolicy, LastLevelTimeout, Level, LevelSpec, PolicyError, PolicyPlace, Target};
pub use ports::{Notifier, NotifyError, PagerRecord, PagerStore, PolicyRepository, SentNotification};

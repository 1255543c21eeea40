//! The store decorator's schedule and maintenance-window methods: every operation timed
//! under its method's name, and failures counted by kind, in the same series as the others.

use super::instrumented::Instrumented;
use async_trait::async_trait;
use domain::pager::{MaintenanceStore, MaintenanceWindow};
use domain::ports::StoreError;
use domain::schedule::{DigestSchedule, DueSchedule, ScheduleRecord, ScheduleStore};
use domain::{EventTime, UserId};

// One line per method, labelled with the method's name.
#[async_trait]
impl ScheduleStore for Instrumented<dyn ScheduleStore> {
    async fn put_schedule(&self, schedule: &DigestSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        self.timed("put_schedule", self.inner().put_schedule(schedule, next_due))
            .await
    }

    async fn schedule(&self, user: &UserId) -> Result<Option<ScheduleRecord>, StoreError> {
        self.timed("schedule", self.inner().schedule(user)).await
    }

    async fn delete_schedule(&self, user: &UserId) -> Result<bool, StoreError> {
        self.timed("delete_schedule", self.inner().delete_schedule(user)).await
    }

    async fn claim_due_schedules(
        &self,
        now: EventTime,
        claim_until: EventTime,
        limit: usize,
    ) -> Result<Vec<DueSchedule>, StoreError> {
        self.timed(
            "claim_due_schedules",
            self.inner().claim_due_schedules(now, claim_until, limit),
        )
        .await
    }

    async fn advance_schedule(&self, due: &DueSchedule, next_due: Option<EventTime>) -> Result<bool, StoreError> {
        self.timed("advance_schedule", self.inner().advance_schedule(due, next_due))
            .await
    }
}

#[async_trait]
impl MaintenanceStore for Instrumented<dyn MaintenanceStore> {
    async fn put_window(&self, window: &MaintenanceWindow) -> Result<bool, StoreError> {
        self.timed("put_window", self.inner().put_window(window)).await
    }

    async fn window(&self, id: &str) -> Result<Option<MaintenanceWindow>, StoreError> {
        self.timed("window", self.inner().window(id)).await
    }

    async fn windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError> {
        self.timed("windows", self.inner().windows()).await
    }

    async fn delete_window(&self, id: &str) -> Result<bool, StoreError> {
        self.timed("delete_window", self.inner().delete_window(id)).await
    }

    async fn delete_windows_ended_before(&self, before: EventTime) -> Result<u64, StoreError> {
        self.timed(
            "delete_windows_ended_before",
            self.inner().delete_windows_ended_before(before),
        )
        .await
    }
}

//! Maintenance windows through the pager: made (validated), listed, ended early or
//! extended, removed; a change moves the held incidents of the services the window
//! covers to the end of what still holds them, or releases them at once.

use super::{PagerError, PagerService};
use domain::pager::decide;
use domain::pager::{maintenance_until, MaintenanceWindow, WindowError, WindowScope, WindowTiming};
use domain::EventTime;

/// Why a window was not made or changed.
#[derive(Debug, thiserror::Error)]
pub enum WindowRefused {
    /// It is not a valid window.
    #[error(transparent)]
    Invalid(#[from] WindowError),
    /// No window has this id.
    #[error("no maintenance window {0}")]
    Unknown(String),
    /// The pager could not do it.
    #[error(transparent)]
    Pager(#[from] PagerError),
}

/// How many held incidents one page of the recheck reads.
const RECHECK_PAGE: usize = 200;

impl PagerService {
    /// Stores a new window (its id is the caller's); it holds from its start.
    pub async fn open_window(&self, window: &MaintenanceWindow) -> Result<(), WindowRefused> {
        window.validate()?;
        self.windows_store()?
            .put_window(window)
            .await
            .map_err(PagerError::from)?;
        self.recheck_held(&window.scope).await?;
        Ok(())
    }

    /// Every window kept (past ones too, until retention removes them).
    pub async fn windows(&self) -> Result<Vec<MaintenanceWindow>, PagerError> {
        Ok(self.windows_store()?.windows().await?)
    }

    /// How many windows hold now, also reported to the observer; 0 when the pager keeps
    /// no windows.
    pub async fn count_active_windows(&self) -> Result<usize, PagerError> {
        let Some(store) = self.maintenance.as_deref() else {
            return Ok(0);
        };
        let now = self.clock.now();
        let active = store
            .windows()
            .await?
            .iter()
            .filter(|w| w.holds_until(now).is_some())
            .count();
        self.observer.maintenance_windows(active);
        Ok(active)
    }

    /// One window.
    pub async fn window(&self, id: &str) -> Result<Option<MaintenanceWindow>, PagerError> {
        Ok(self.windows_store()?.window(id).await?)
    }

    /// Ends a window at `end` instead (earlier: ended early; later: extended); for a
    /// recurring window, `end` is the last instant an occurrence may begin. The held
    /// incidents of its services follow at once.
    pub async fn change_window_end(&self, id: &str, end: EventTime) -> Result<MaintenanceWindow, WindowRefused> {
        let store = self.windows_store()?;
        let mut window = store
            .window(id)
            .await
            .map_err(PagerError::from)?
            .ok_or_else(|| WindowRefused::Unknown(id.to_string()))?;
        match &mut window.timing {
            WindowTiming::Once { end: current, .. } => *current = end,
            WindowTiming::Recurring { until, .. } => *until = Some(end),
        }
        window.validate()?;
        store.put_window(&window).await.map_err(PagerError::from)?;
        self.recheck_held(&window.scope).await?;
        Ok(window)
    }

    /// Removes a window; `false` when there was none. Its held incidents are released
    /// unless another window still holds them.
    pub async fn delete_window(&self, id: &str) -> Result<bool, PagerError> {
        let store = self.windows_store()?;
        let Some(window) = store.window(id).await? else {
            return Ok(false);
        };
        let deleted = store.delete_window(id).await?;
        self.recheck_held(&window.scope).await?;
        Ok(deleted)
    }

    /// Moves every held, unacknowledged incident of the services `scope` covers to the end
    /// of what holds it now, or to now when nothing does (the timer releases it then).
    async fn recheck_held(&self, scope: &WindowScope) -> Result<(), PagerError> {
        let windows = self.windows_store()?.windows().await?;
        let mut after = None;
        loop {
            let page = self.store.services(after.as_ref(), RECHECK_PAGE).await?;
            for (service, record) in &page {
                let covered = match scope {
                    WindowScope::All => true,
                    WindowScope::Services(services) => services.contains(service),
                };
                let held = record.state.incident().is_some_and(|i| i.held_until.is_some());
                if covered && held {
                    let now = self.clock.now();
                    let until = maintenance_until(&windows, service, now);
                    self.transition(service, |state, _, now| decide::rehold(state, until, now))
                        .await?;
                }
            }
            if page.len() < RECHECK_PAGE {
                return Ok(());
            }
            after = page.last().map(|(service, _)| service.clone());
        }
    }

    fn windows_store(&self) -> Result<&dyn domain::pager::MaintenanceStore, PagerError> {
        self.maintenance.as_deref().ok_or(PagerError::NoMaintenance)
    }
}

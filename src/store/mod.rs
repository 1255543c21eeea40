//! Storage adapters behind the [`AlarmStore`] port, chosen by `STORE_URL`.

pub mod instrumented;
pub mod instrumented_pager;
pub mod instrumented_schedules;
#[cfg(test)]
mod stats_reads;

pub use store_mongo as mongo;
pub use store_sqlite as sqlite;
pub use usecases::heartbeat;

use domain::pager::{MaintenanceStore, PagerStore, PolicyRepository};
use domain::ports::AlarmStore;
use domain::query::HistoryLimits;
use domain::schedule::ScheduleStore;
use std::sync::Arc;

/// Why `STORE_URL` could not be turned into a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreUrlError {
    /// The scheme is neither `sqlite://` nor `mongodb://`/`mongodb+srv://`.
    #[error("STORE_URL {0:?} is not supported: use sqlite://PATH or mongodb://HOST/DATABASE")]
    UnknownScheme(String),
    /// The scheme is right but the store could not be opened.
    #[error("cannot open the store at {url}")]
    Open {
        /// The URL with any password hidden.
        url: String,
        /// What went wrong.
        #[source]
        source: domain::failure::Failure,
    },
}

/// Every port over the one adapter a URL names.
#[derive(Clone)]
pub struct Stores {
    /// Alarms, digests and their claims.
    pub alarms: Arc<dyn AlarmStore>,
    /// Service states, timers and sent notifications.
    pub pager: Arc<dyn PagerStore>,
    /// Escalation policies.
    pub policies: Arc<dyn PolicyRepository>,
    /// Digest schedules and their timers.
    pub schedules: Arc<dyn ScheduleStore>,
    /// The pager's maintenance windows.
    pub maintenance: Arc<dyn MaintenanceStore>,
}

/// Opens the store a URL names: `sqlite://PATH` (`sqlite::memory:` for a private in-memory
/// database) or `mongodb://...` with the database taken from the path (default
/// `alarm_digest`), as every port: alarms, pager, policies, schedules, maintenance windows.
pub async fn open_stores(url: &str, history: HistoryLimits) -> Result<Stores, StoreUrlError> {
    let open_err = |source: domain::failure::Failure| StoreUrlError::Open {
        url: redact(url),
        source,
    };
    fn both<S: AlarmStore + PagerStore + PolicyRepository + ScheduleStore + MaintenanceStore>(store: S) -> Stores {
        let store = Arc::new(store);
        Stores {
            alarms: store.clone(),
            pager: store.clone(),
            policies: store.clone(),
            schedules: store.clone(),
            maintenance: store,
        }
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(
            path,
            sqlite::SqliteOptions {
                history,
                ..Default::default()
            },
        )
        .map_err(|e| open_err(domain::failure::Failure::caused_by(e)))?;
        Ok(both(store))
    } else if url == "sqlite::memory:" {
        Ok(both(
            sqlite::SqliteStore::open_in_memory(history)
                .map_err(|e| open_err(domain::failure::Failure::caused_by(e)))?,
        ))
    } else if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
        let store = mongo::MongoStore::connect(url, None, history)
            .await
            .map_err(|e| open_err(domain::failure::Failure::caused_by(e)))?;
        Ok(both(store))
    } else {
        Err(StoreUrlError::UnknownScheme(redact(url)))
    }
}

/// The URL with the password of its user-info, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_store_urls_are_hidden() {
        assert_eq!(
            redact("mongodb://app:s3cret@db:27017/x"),
            "mongodb://app:***@db:27017/x"
        );
        assert_eq!(redact("sqlite://./data/a.db"), "sqlite://./data/a.db");
    }

    #[tokio::test]
    async fn unknown_store_scheme_is_a_clear_error() {
        let err = open_stores("postgres://localhost/db", HistoryLimits::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, StoreUrlError::UnknownScheme(_)));
        assert!(err.to_string().contains("sqlite://PATH"));
    }
}

//! The client options of the MongoDB store: what `STORE_URL` says, with failover-safe
//! defaults for what it leaves out.
//!
//! An event is acked to NATS once its store write is acknowledged, so that write must
//! outlive the primary: unless the URI chooses otherwise, writes wait for a majority of the
//! replica set and the journal (`w: "majority", j: true`), and reads go to the primary.

use super::errors::to_store_error;
use domain::ports::StoreError;
use mongodb::options::{Acknowledgment, ClientOptions, ReadPreference, SelectionCriteria, WriteConcern};
use std::time::Duration;

/// How long the driver looks for a suitable server (the primary, during a failover) or
/// waits for a connection before an operation fails, unless the URI says otherwise.
const SERVER_WAIT: Duration = Duration::from_secs(5);

/// Parses `uri` and fills in what it leaves out: the application name, the server selection
/// and connect timeouts, write concern `majority` with journaling, and the primary read
/// preference.
///
/// A URI that sets `w=` or `journal=` keeps its write concern as given (a `wtimeoutMS=`
/// alone does not count: it is kept and the majority default is added to it); one that sets
/// `readPreference=` keeps it. Read concern is never changed.
///
/// # Errors
/// [`StoreError::Rejected`] for a URI that does not parse, [`StoreError::Unavailable`] when
/// a `mongodb+srv://` URI's DNS lookup fails.
pub async fn client_options(uri: &str) -> Result<ClientOptions, StoreError> {
    let mut options = ClientOptions::parse(uri).await.map_err(to_store_error)?;
    apply_defaults(&mut options);
    Ok(options)
}

/// The defaults of [`client_options`], for options already parsed.
fn apply_defaults(options: &mut ClientOptions) {
    options.app_name.get_or_insert_with(|| "alarm-digest".into());
    options.server_selection_timeout.get_or_insert(SERVER_WAIT);
    options.connect_timeout.get_or_insert(SERVER_WAIT);
    let concern = options.write_concern.get_or_insert_with(WriteConcern::default);
    if concern.w.is_none() && concern.journal.is_none() {
        concern.w = Some(Acknowledgment::Majority);
        concern.journal = Some(true);
    }
    options
        .selection_criteria
        .get_or_insert(SelectionCriteria::ReadPreference(ReadPreference::Primary));
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::options::ReadConcernLevel;

    async fn parsed(uri: &str) -> ClientOptions {
        client_options(uri).await.expect("a valid URI")
    }

    fn majority_journaled() -> WriteConcern {
        WriteConcern::builder()
            .w(Acknowledgment::Majority)
            .journal(true)
            .build()
    }

    #[tokio::test]
    async fn a_uri_without_concerns_gets_majority_journaled_writes_and_primary_reads() {
        let options = parsed("mongodb://db.example:27017/alarms?replicaSet=rs0").await;
        assert_eq!(options.write_concern, Some(majority_journaled()));
        assert_eq!(
            options.selection_criteria,
            Some(SelectionCriteria::ReadPreference(ReadPreference::Primary))
        );
        assert_eq!(options.read_concern, None);
    }

    #[tokio::test]
    async fn a_uri_write_concern_is_kept_as_given() {
        let w1 = parsed("mongodb://db.example/?w=1").await;
        assert_eq!(w1.write_concern, Some(WriteConcern::nodes(1)));
        let unjournaled = parsed("mongodb://db.example/?journal=false").await;
        let concern = unjournaled.write_concern.expect("a write concern");
        assert_eq!((concern.w, concern.journal), (None, Some(false)));
    }

    #[tokio::test]
    async fn a_uri_write_timeout_alone_keeps_the_majority_default() {
        let options = parsed("mongodb://db.example/?wtimeoutMS=2500").await;
        let concern = options.write_concern.expect("a write concern");
        assert_eq!(concern.w, Some(Acknowledgment::Majority));
        assert_eq!(concern.journal, Some(true));
        assert_eq!(concern.w_timeout, Some(Duration::from_millis(2500)));
    }

    #[tokio::test]
    async fn a_uri_read_preference_and_read_concern_are_kept() {
        let options = parsed("mongodb://db.example/?readPreference=secondaryPreferred&readConcernLevel=majority").await;
        assert!(matches!(
            options.selection_criteria,
            Some(SelectionCriteria::ReadPreference(
                ReadPreference::SecondaryPreferred { .. }
            ))
        ));
        let level = options.read_concern.map(|c| c.level);
        assert_eq!(level, Some(ReadConcernLevel::Majority));
        assert_eq!(options.write_concern, Some(majority_journaled()));
    }
}

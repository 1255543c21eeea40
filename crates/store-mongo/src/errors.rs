//! Driver errors mapped to the store port's meanings.

use domain::ports::{Failure, StoreError};
use mongodb::error::{Error, ErrorKind, WriteFailure};

/// Server codes that mean "not now": failover, shutdown, network, timeouts, conflicts.
pub(super) const TRANSIENT_CODES: &[i32] = &[6, 7, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 50];

/// Whether an upsert lost an insert race (E11000).
pub(super) fn is_duplicate_key(e: &Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(we)) => we.code == 11000,
        ErrorKind::Command(ce) => ce.code == 11000,
        _ => false,
    }
}

/// Unreachable, timed out or failing over: `Unavailable`; anything else: `Rejected`.
pub(super) fn to_store_error(e: Error) -> StoreError {
    let transient = e.contains_label("RetryableWriteError")
        || e.contains_label("TransientTransactionError")
        || match e.kind.as_ref() {
            ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. } => true,
            ErrorKind::Command(ce) => TRANSIENT_CODES.contains(&ce.code),
            ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
            ErrorKind::Write(WriteFailure::WriteError(we)) => TRANSIENT_CODES.contains(&we.code),
            _ => false,
        };
    if transient {
        StoreError::Unavailable(Failure::caused_by(e))
    } else {
        StoreError::Rejected(Failure::caused_by(e))
    }
}

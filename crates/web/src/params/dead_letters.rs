//! The paging of the dead letters (`/v1/dead-letters` and the console's Dead letters
//! page): backwards by dead-letter sequence.

use super::pairs;
use crate::error::HttpError;
use usecases::dead_letters::{DEFAULT_PAGE, MAX_PAGE};

/// The largest `before` accepted; far beyond any stream's sequence.
pub const MAX_SEQUENCE: u64 = 1_000_000_000_000_000;

/// `before` and `limit` from a query string; unknown parameters are refused.
pub fn parse(raw: Option<&str>) -> Result<(Option<u64>, usize), HttpError> {
    let mut before = None;
    let mut limit = DEFAULT_PAGE;
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "before" => match value.parse::<u64>() {
                Ok(b) if (1..=MAX_SEQUENCE).contains(&b) => before = Some(b),
                _ => return Err(HttpError::BadRequest(format!("before: expected 1..={MAX_SEQUENCE}"))),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = n,
                _ => return Err(HttpError::BadRequest(format!("limit: expected 1..={MAX_PAGE}"))),
            },
            other => return Err(HttpError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((before, limit))
}

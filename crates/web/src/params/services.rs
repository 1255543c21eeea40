//! The paging of the services (`/v1/services` and the console's Services page): forwards
//! by ServiceID.

use super::pairs;
use crate::error::HttpError;
use domain::ServiceId;

/// Services per page when `limit` is not given.
pub const DEFAULT_SERVICES_LIMIT: usize = 50;
/// The largest `limit` accepted.
pub const MAX_SERVICES_LIMIT: usize = 500;

/// Parses `after` and `limit`; unknown parameters are refused.
pub fn services_query(raw: Option<&str>) -> Result<(Option<ServiceId>, usize), HttpError> {
    let mut after = None;
    let mut limit = DEFAULT_SERVICES_LIMIT;
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "after" if value.is_empty() => after = None,
            "after" => {
                after = Some(ServiceId::parse(&value).map_err(|e| HttpError::BadRequest(format!("after: {e}")))?)
            }
            "limit" => {
                limit = match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_SERVICES_LIMIT).contains(&n) => n,
                    _ => {
                        return Err(HttpError::BadRequest(format!(
                            "limit: expected 1..={MAX_SERVICES_LIMIT}"
                        )))
                    }
                }
            }
            other => return Err(HttpError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((after, limit))
}

//! The query strings and path segments the API and the console both take, parsed into
//! domain types the same way for both; anything malformed is a 400.

pub mod dead_letters;
pub mod listing;
#[cfg(test)]
mod listing_properties;
pub mod services;
pub mod stats;

use crate::error::HttpError;
use domain::{AlarmId, EventTime, ServiceId, UserId};

/// The `name=value` pairs of a raw query string, decoded, repeats kept in order.
pub fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, HttpError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| HttpError::BadRequest(format!("malformed query string: {e}")))
}

/// A user id from a path or query.
pub fn user_id(value: &str) -> Result<UserId, HttpError> {
    UserId::parse(value).map_err(|e| HttpError::BadRequest(format!("user_id: {e}")))
}

/// An alarm id from a path.
pub fn alarm_id(value: &str) -> Result<AlarmId, HttpError> {
    AlarmId::parse(value).map_err(|e| HttpError::BadRequest(format!("alarm_id: {e}")))
}

/// A service id from a path.
pub fn service_id(value: &str) -> Result<ServiceId, HttpError> {
    ServiceId::parse(value).map_err(|e| HttpError::BadRequest(format!("service_id: {e}")))
}

/// An RFC 3339 instant named `name`.
pub fn instant(name: &str, value: &str) -> Result<EventTime, HttpError> {
    EventTime::parse_rfc3339(value).map_err(|e| HttpError::BadRequest(format!("{name}: {e}")))
}

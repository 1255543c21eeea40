//! The query of the statistics (`/v1/stats` and the console's Statistics page): a filter
//! and the window every figure is taken over.

use super::{instant, pairs, user_id};
use crate::error::HttpError;
use domain::query::AlarmFilter;
use usecases::queries::Window;

/// The filter and window of a stats query string; unknown parameters are refused.
pub fn parse(raw: Option<&str>) -> Result<(AlarmFilter, Window), HttpError> {
    let mut filter = AlarmFilter::default();
    let mut window = Window::default();
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "user_id" => filter.user_id = Some(user_id(&value)?),
            "service" => filter.service = Some(value),
            "since" => window.since = Some(instant("since", &value)?),
            "until" => window.until = Some(instant("until", &value)?),
            other => return Err(HttpError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((filter, window))
}

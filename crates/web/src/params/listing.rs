//! The query of the alarm listings (the API's and the console's Alarms page), and the
//! opaque page cursor.

use super::{instant, pairs, user_id};
use crate::error::HttpError;
use domain::episodes::Lifecycle;
use domain::query::{AlarmFilter, PageKey, PageRequest, SortOrder};
use domain::{AlarmId, EventTime, Status, UserId};
use serde::{Deserialize, Serialize};

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;

/// Parses the listing parameters: the filter and the page asked for. Unknown parameters
/// are refused so a misspelt filter cannot silently match everything.
pub fn listing(raw: Option<&str>) -> Result<(AlarmFilter, PageRequest), HttpError> {
    let mut filter = AlarmFilter::default();
    let mut page = PageRequest {
        limit: DEFAULT_LIMIT,
        after: None,
        order: SortOrder::Asc,
    };
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "user_id" => filter.user_id = Some(user_id(&value)?),
            "status" => filter.statuses.push(
                value
                    .parse::<Status>()
                    .map_err(|e| HttpError::BadRequest(format!("status: {e}")))?,
            ),
            "active" => filter.active = Some(boolean("active", &value)?),
            "lifecycle" => filter.lifecycles.push(
                value
                    .parse::<Lifecycle>()
                    .map_err(|e| HttpError::BadRequest(format!("lifecycle: {e}")))?,
            ),
            "name" => filter.name = Some(value),
            "service" => filter.service = Some(value),
            "user_name" => filter.user_name = Some(value),
            "q" => filter.text = Some(value),
            "changed_after" => filter.changed_after = Some(instant("changed_after", &value)?),
            "changed_before" => filter.changed_before = Some(instant("changed_before", &value)?),
            "limit" => page.limit = limit(&value)?,
            "cursor" => page.after = Some(decode_cursor(&value)?),
            "order" => page.order = order(&value)?,
            other => return Err(HttpError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((filter, page))
}

fn boolean(name: &str, value: &str) -> Result<bool, HttpError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(HttpError::BadRequest(format!("{name}: expected true or false"))),
    }
}

fn limit(value: &str) -> Result<usize, HttpError> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(HttpError::BadRequest(format!("limit: expected 1..={MAX_LIMIT}"))),
    }
}

fn order(value: &str) -> Result<SortOrder, HttpError> {
    match value {
        "asc" => Ok(SortOrder::Asc),
        "desc" => Ok(SortOrder::Desc),
        _ => Err(HttpError::BadRequest("order: expected asc or desc".into())),
    }
}

/// The cursor's content before encoding; short names keep cursors short.
#[derive(Serialize, Deserialize)]
struct Cursor {
    t: i64,
    a: String,
    u: String,
}

/// Encodes a page key as an opaque, URL-safe cursor (lower-case hex of a small JSON).
pub fn encode_cursor(key: &PageKey) -> String {
    let cursor = Cursor {
        t: key.changed_at.as_nanos(),
        a: key.alarm_id.as_str().to_string(),
        u: key.user_id.as_str().to_string(),
    };
    let json = serde_json::to_vec(&cursor).unwrap_or_default();
    json.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is a 400.
pub fn decode_cursor(value: &str) -> Result<PageKey, HttpError> {
    let bad = || HttpError::BadRequest("cursor: not a cursor this API issued".into());
    if !value.len().is_multiple_of(2) || !value.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&value[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(PageKey {
        changed_at: EventTime::from_nanos(cursor.t),
        alarm_id: AlarmId::parse(cursor.a).map_err(|_| bad())?,
        user_id: UserId::parse(cursor.u).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = PageKey {
            changed_at: EventTime::from_nanos(1_700_000_000_123_456_789),
            alarm_id: AlarmId::parse("a/1 x").unwrap(),
            user_id: UserId::parse("u\"1").unwrap(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        for bad in ["", "zz", "abc", "7b7d", "é1"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repeated_statuses_accumulate_and_limits_outside_the_range_are_refused() {
        let (filter, page) = listing(Some(
            "status=WARNING&status=CRITICAL&lifecycle=triggered&lifecycle=resolved&limit=5&order=desc",
        ))
        .unwrap();
        assert_eq!(filter.statuses, vec![Status::Warning, Status::Critical]);
        assert_eq!(filter.lifecycles, vec![Lifecycle::Triggered, Lifecycle::Resolved]);
        assert_eq!((page.limit, page.order), (5, SortOrder::Desc));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "active=yes",
            "status=RED",
            "lifecycle=open",
            "lifecycle=TRIGGERED",
            "colour=red",
        ] {
            assert!(listing(Some(bad)).is_err(), "{bad}");
        }
    }
}

//! The input wire formats (PascalCase JSON) parsed into domain types at the edge.

pub mod alerts;

use domain::{AlarmEvent, AlarmId, AlarmMetadata, EventTime, Status, UserId, Version};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// The default largest payload accepted on an input subject.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024;

/// Why an inbound message was rejected; the text names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Larger than the configured limit.
    #[error("payload is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Not UTF-8 JSON, or JSON nested too deep.
    #[error("payload is not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but not an object.
    #[error("payload is not a JSON object")]
    NotAnObject,
    /// A field is missing, of the wrong type, duplicated or has an invalid value.
    #[error("field {field}: {reason}")]
    Field {
        /// The wire name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

pub fn field(field: &'static str, reason: impl ToString) -> WireError {
    WireError::Field {
        field,
        reason: reason.to_string(),
    }
}

#[derive(Deserialize)]
struct RawStatusChanged<'a> {
    #[serde(rename = "UserID", borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "AlarmID", borrow)]
    alarm_id: Option<Cow<'a, str>>,
    #[serde(rename = "Status", borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "ChangedAt", borrow)]
    changed_at: Option<Cow<'a, str>>,
    #[serde(rename = "Name", borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "Service", borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(rename = "UserName", borrow)]
    user_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawDigestRequest<'a> {
    #[serde(rename = "UserID", borrow)]
    user_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawAcknowledgement<'a> {
    #[serde(rename = "UserID", borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "AlarmID", borrow)]
    alarm_id: Option<Cow<'a, str>>,
    #[serde(rename = "AckedAt", borrow)]
    acked_at: Option<Cow<'a, str>>,
}

/// An `AlarmAcknowledged`: the user acknowledged the alarm at `acked_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// Whose alarm.
    pub user_id: UserId,
    /// Which alarm.
    pub alarm_id: AlarmId,
    /// When it was acknowledged; required, since a redelivered message is handled later.
    pub acked_at: EventTime,
}

const STATUS_CHANGED_FIELDS: &[&str] = &[
    "UserID",
    "AlarmID",
    "Status",
    "ChangedAt",
    "Name",
    "Service",
    "UserName",
];

/// Parses an `AlarmStatusChanged` payload.
pub fn parse_status_changed(payload: &[u8], max_payload: usize) -> Result<AlarmEvent, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawStatusChanged<'_> =
        serde_json::from_slice(payload).map_err(|e| explain(payload, &e, STATUS_CHANGED_FIELDS))?;
    let user_id = UserId::parse(required("UserID", raw.user_id)?).map_err(|e| field("UserID", e))?;
    let alarm_id = AlarmId::parse(required("AlarmID", raw.alarm_id)?).map_err(|e| field("AlarmID", e))?;
    let status: Status = required("Status", raw.status)?
        .parse()
        .map_err(|e| field("Status", e))?;
    let changed_at =
        EventTime::parse_rfc3339(&required("ChangedAt", raw.changed_at)?).map_err(|e| field("ChangedAt", e))?;
    let metadata = AlarmMetadata {
        name: optional("Name", raw.name)?,
        service: optional("Service", raw.service)?,
        user_name: optional("UserName", raw.user_name)?,
        ..Default::default()
    };
    Ok(AlarmEvent {
        user_id,
        alarm_id,
        version: Version { changed_at, status },
        metadata,
    })
}

/// Parses a `SendAlarmDigest` payload into the user whose digest is asked for.
pub fn parse_digest_request(payload: &[u8], max_payload: usize) -> Result<UserId, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawDigestRequest<'_> = serde_json::from_slice(payload).map_err(|e| explain(payload, &e, &["UserID"]))?;
    UserId::parse(required("UserID", raw.user_id)?).map_err(|e| field("UserID", e))
}

/// Parses an `AlarmAcknowledged` payload.
pub fn parse_acknowledgement(payload: &[u8], max_payload: usize) -> Result<Acknowledgement, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawAcknowledgement<'_> =
        serde_json::from_slice(payload).map_err(|e| explain(payload, &e, &["UserID", "AlarmID", "AckedAt"]))?;
    Ok(Acknowledgement {
        user_id: UserId::parse(required("UserID", raw.user_id)?).map_err(|e| field("UserID", e))?,
        alarm_id: AlarmId::parse(required("AlarmID", raw.alarm_id)?).map_err(|e| field("AlarmID", e))?,
        acked_at: EventTime::parse_rfc3339(&required("AckedAt", raw.acked_at)?).map_err(|e| field("AckedAt", e))?,
    })
}

/// The longest metadata value kept, in characters.
pub const MAX_METADATA_CHARS: usize = 1024;

/// The checks before parsing: the size, and that the payload is an object. A derived
/// struct would also accept a JSON array of the field values in order, which no producer
/// means to send.
pub fn check_size(payload: &[u8], limit: usize) -> Result<(), WireError> {
    if payload.len() > limit {
        return Err(WireError::TooLarge {
            size: payload.len(),
            limit,
        });
    }
    if payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(());
    }
    Err(match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
        Ok(_) => WireError::NotAnObject,
        Err(e) => WireError::NotJson(e.to_string()),
    })
}

pub fn required(name: &'static str, value: Option<Cow<'_, str>>) -> Result<String, WireError> {
    value.map(Cow::into_owned).ok_or_else(|| field(name, "is missing"))
}

pub fn optional(name: &'static str, value: Option<Cow<'_, str>>) -> Result<Option<String>, WireError> {
    match value {
        Some(v) if v.chars().count() > MAX_METADATA_CHARS => {
            Err(field(name, format!("is longer than {MAX_METADATA_CHARS} characters")))
        }
        Some(v) if v.is_empty() => Ok(None),
        other => Ok(other.map(Cow::into_owned)),
    }
}

/// Turns a deserialization error into one that names the field, re-reading the payload
/// generically; only rejected messages pay for this.
pub fn explain(payload: &[u8], err: &serde_json::Error, fields: &[&'static str]) -> WireError {
    let value: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => return WireError::NotJson(e.to_string()),
    };
    let Value::Object(map) = value else {
        return WireError::NotAnObject;
    };
    for &name in fields {
        match map.get(name) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => return field(name, format!("must be a string, got {}", json_type(other))),
        }
    }
    let text = err.to_string();
    for &name in fields {
        if text.contains(&format!("`{name}`")) {
            return field(name, text.split(" at line").next().unwrap_or(&text));
        }
    }
    WireError::NotJson(text)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"AlarmID":"a1","UserID":"u1","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15.598765212Z"}"#;

    fn reject(payload: &str) -> WireError {
        parse_status_changed(payload.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap_err()
    }

    #[test]
    fn valid_status_change_is_parsed_with_nanoseconds() {
        let ev = parse_status_changed(GOOD.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap();
        assert_eq!(ev.user_id.as_str(), "u1");
        assert_eq!(ev.version.status, Status::Warning);
        assert_eq!(ev.version.changed_at.to_rfc3339(), "2021-06-07T20:40:15.598765212Z");
    }

    #[test]
    fn unknown_fields_are_ignored_and_metadata_is_kept() {
        let payload = r#"{"AlarmID":"a","UserID":"u","Status":"CRITICAL","ChangedAt":"2021-06-07T20:40:15Z","Extra":{"x":[1,2]},"Name":"Disk","Service":"db","UserName":"Ann"}"#;
        let ev = parse_status_changed(payload.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap();
        assert_eq!(ev.metadata.name.as_deref(), Some("Disk"));
        assert_eq!(ev.metadata.service.as_deref(), Some("db"));
        assert_eq!(ev.metadata.user_name.as_deref(), Some("Ann"));
    }

    #[test]
    fn each_bad_field_is_named_in_the_rejection() {
        let cases = [
            (
                r#"{"UserID":"u","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#,
                "AlarmID",
                "missing",
            ),
            (
                r#"{"AlarmID":"","UserID":"u","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#,
                "AlarmID",
                "empty",
            ),
            (
                r#"{"AlarmID":"a","UserID":5,"Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#,
                "UserID",
                "number",
            ),
            (
                r#"{"AlarmID":"a","UserID":"u","Status":"BROKEN","ChangedAt":"2021-06-07T20:40:15Z"}"#,
                "Status",
                "unknown status",
            ),
            (
                r#"{"AlarmID":"a","UserID":"u","Status":"WARNING","ChangedAt":"tuesday"}"#,
                "ChangedAt",
                "RFC 3339",
            ),
            (
                r#"{"AlarmID":"a","UserID":"u","Status":"WARNING","ChangedAt":"9999-01-01T00:00:00Z"}"#,
                "ChangedAt",
                "range",
            ),
            (
                r#"{"AlarmID":"a","AlarmID":"b","UserID":"u","Status":"WARNING","ChangedAt":"2021-06-07T20:40:15Z"}"#,
                "AlarmID",
                "duplicate",
            ),
        ];
        for (payload, name, reason) in cases {
            match reject(payload) {
                WireError::Field { field, reason: why } => {
                    assert_eq!(field, name, "{payload}");
                    assert!(why.contains(reason), "{payload}: {why}");
                }
                other => panic!("{payload}: {other:?}"),
            }
        }
    }

    #[test]
    fn non_objects_invalid_json_and_deep_nesting_are_rejected() {
        assert_eq!(reject("[1,2]"), WireError::NotAnObject);
        assert!(matches!(reject("{not json"), WireError::NotJson(_)));
        assert!(matches!(
            parse_status_changed(b"\xff\xfe{}", DEFAULT_MAX_PAYLOAD),
            Err(WireError::NotJson(_))
        ));
        let deep_known = format!(r#"{{"UserID":{}{}}}"#, "[".repeat(500), "]".repeat(500));
        assert!(matches!(reject(&deep_known), WireError::NotJson(e) if e.contains("recursion limit")));
        // Deep nesting in an unknown field is rejected without exhausting the stack.
        let deep_unknown = format!(r#"{{"X":{}{}}}"#, "[".repeat(20_000), "]".repeat(20_000));
        assert!(parse_status_changed(deep_unknown.as_bytes(), DEFAULT_MAX_PAYLOAD).is_err());
    }

    #[test]
    fn an_array_of_the_field_values_is_not_a_message() {
        let tuple = br#"["u","a","WARNING","2026-01-01T00:00:00Z"]"#;
        assert_eq!(
            parse_status_changed(tuple, DEFAULT_MAX_PAYLOAD),
            Err(WireError::NotAnObject)
        );
        assert_eq!(
            parse_digest_request(br#"["u"]"#, DEFAULT_MAX_PAYLOAD),
            Err(WireError::NotAnObject)
        );
    }

    #[test]
    fn oversized_payload_is_rejected_before_parsing() {
        let big = vec![b' '; DEFAULT_MAX_PAYLOAD + 1];
        assert_eq!(
            parse_status_changed(&big, DEFAULT_MAX_PAYLOAD),
            Err(WireError::TooLarge {
                size: DEFAULT_MAX_PAYLOAD + 1,
                limit: DEFAULT_MAX_PAYLOAD
            })
        );
    }

    #[test]
    fn an_acknowledgement_needs_every_field_and_a_valid_time() {
        let ack = parse_acknowledgement(
            br#"{"UserID":"u1","AlarmID":"a1","AckedAt":"2026-01-01T00:00:00.000000001Z"}"#,
            DEFAULT_MAX_PAYLOAD,
        )
        .unwrap();
        assert_eq!(
            (
                ack.user_id.as_str(),
                ack.alarm_id.as_str(),
                ack.acked_at.as_nanos() % 10
            ),
            ("u1", "a1", 1)
        );
        for (payload, named) in [
            (r#"{"UserID":"u1","AlarmID":"a1"}"#, "AckedAt"),
            (r#"{"UserID":"u1","AckedAt":"2026-01-01T00:00:00Z"}"#, "AlarmID"),
            (
                r#"{"UserID":"","AlarmID":"a1","AckedAt":"2026-01-01T00:00:00Z"}"#,
                "UserID",
            ),
            (r#"{"UserID":"u1","AlarmID":"a1","AckedAt":"yesterday"}"#, "AckedAt"),
            (r#"{"UserID":"u1","AlarmID":"a1","AckedAt":7}"#, "AckedAt"),
        ] {
            let err = parse_acknowledgement(payload.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("field {named}:")),
                "{payload}: {err}"
            );
        }
    }

    #[test]
    fn digest_request_needs_a_user_id() {
        assert_eq!(parse_digest_request(br#"{"UserID":"7"}"#, 100).unwrap().as_str(), "7");
        assert!(matches!(
            parse_digest_request(br#"{}"#, 100),
            Err(WireError::Field { field: "UserID", .. })
        ));
    }
}

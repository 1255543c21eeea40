//! The pager's input messages, `PagerAlert`, `PagerAcknowledge` and `ServiceHealthy`, in
//! the PascalCase of the other subjects.

use domain::pager::Alert;
use domain::{EventTime, ServiceId};
use serde::Deserialize;
use std::borrow::Cow;
use wire::{check_size, explain, field, optional, required, WireError};

/// The longest alert message kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// A pager input, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagerInput {
    /// `PagerAlert`.
    Alert(Alert),
    /// `PagerAcknowledge`, with who acknowledged when given.
    Acknowledge(ServiceId, Option<String>),
    /// `ServiceHealthy`.
    Healthy(ServiceId),
}

impl PagerInput {
    /// The service it is about.
    pub fn service_id(&self) -> &ServiceId {
        match self {
            PagerInput::Alert(a) => &a.service_id,
            PagerInput::Acknowledge(s, _) | PagerInput::Healthy(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct RawAlert<'a> {
    #[serde(rename = "ServiceID", borrow)]
    service_id: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "RaisedAt", borrow)]
    raised_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawAcknowledge<'a> {
    #[serde(rename = "ServiceID", borrow)]
    service_id: Option<Cow<'a, str>>,
    #[serde(rename = "AcknowledgedBy", borrow)]
    acknowledged_by: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawHealthy<'a> {
    #[serde(rename = "ServiceID", borrow)]
    service_id: Option<Cow<'a, str>>,
}

fn service_id(value: Option<Cow<'_, str>>) -> Result<ServiceId, WireError> {
    ServiceId::parse(required("ServiceID", value)?).map_err(|e| field("ServiceID", e))
}

/// Parses a `PagerAlert`: `ServiceID`, `Message` (non-empty, at most 4 KiB) and `RaisedAt`
/// (RFC 3339) are required.
pub fn parse_alert(payload: &[u8], max_payload: usize) -> Result<PagerInput, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawAlert<'_> =
        serde_json::from_slice(payload).map_err(|e| explain(payload, &e, &["ServiceID", "Message", "RaisedAt"]))?;
    let service_id = service_id(raw.service_id)?;
    let message = required("Message", raw.message)?;
    if message.trim().is_empty() {
        return Err(field("Message", "is empty"));
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(field("Message", format!("is longer than {MAX_MESSAGE_BYTES} bytes")));
    }
    let raised_at =
        EventTime::parse_rfc3339(&required("RaisedAt", raw.raised_at)?).map_err(|e| field("RaisedAt", e))?;
    Ok(PagerInput::Alert(Alert {
        service_id,
        message,
        raised_at,
    }))
}

/// Parses a `PagerAcknowledge`: `ServiceID`, optional `AcknowledgedBy`.
pub fn parse_acknowledge(payload: &[u8], max_payload: usize) -> Result<PagerInput, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawAcknowledge<'_> =
        serde_json::from_slice(payload).map_err(|e| explain(payload, &e, &["ServiceID", "AcknowledgedBy"]))?;
    let by = optional("AcknowledgedBy", raw.acknowledged_by)?;
    Ok(PagerInput::Acknowledge(service_id(raw.service_id)?, by))
}

/// Parses a `ServiceHealthy`: `ServiceID`.
pub fn parse_healthy(payload: &[u8], max_payload: usize) -> Result<PagerInput, WireError> {
    check_size(payload, max_payload)?;
    let raw: RawHealthy<'_> = serde_json::from_slice(payload).map_err(|e| explain(payload, &e, &["ServiceID"]))?;
    Ok(PagerInput::Healthy(service_id(raw.service_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::DEFAULT_MAX_PAYLOAD;

    #[test]
    fn pager_inputs_are_parsed_with_their_optional_fields() {
        let alert = parse_alert(
            br#"{"ServiceID":"db","Message":"disk full","RaisedAt":"2024-01-01T00:00:00Z"}"#,
            DEFAULT_MAX_PAYLOAD,
        )
        .unwrap();
        assert_eq!(alert.service_id().as_str(), "db");
        let ack = parse_acknowledge(br#"{"ServiceID":"db","AcknowledgedBy":"ann"}"#, DEFAULT_MAX_PAYLOAD).unwrap();
        assert_eq!(
            ack,
            PagerInput::Acknowledge(ServiceId::parse("db").unwrap(), Some("ann".into()))
        );
        let anonymous = parse_acknowledge(br#"{"ServiceID":"db"}"#, DEFAULT_MAX_PAYLOAD).unwrap();
        assert_eq!(
            anonymous,
            PagerInput::Acknowledge(ServiceId::parse("db").unwrap(), None)
        );
        assert!(matches!(
            parse_healthy(br#"{"ServiceID":"db"}"#, DEFAULT_MAX_PAYLOAD).unwrap(),
            PagerInput::Healthy(_)
        ));
    }

    #[test]
    fn bad_pager_inputs_name_the_field() {
        let named = |r: Result<PagerInput, WireError>, name: &str| match r {
            Err(WireError::Field { field, .. }) => assert_eq!(field, name),
            other => panic!("expected a rejection of {name}, got {other:?}"),
        };
        named(
            parse_alert(br#"{"Message":"x","RaisedAt":"2024-01-01T00:00:00Z"}"#, 1024),
            "ServiceID",
        );
        named(
            parse_alert(
                br#"{"ServiceID":"db","Message":" ","RaisedAt":"2024-01-01T00:00:00Z"}"#,
                1024,
            ),
            "Message",
        );
        named(
            parse_alert(br#"{"ServiceID":"db","Message":"x","RaisedAt":"soon"}"#, 1024),
            "RaisedAt",
        );
        named(
            parse_acknowledge(br#"{"ServiceID":"db","AcknowledgedBy":7}"#, 1024),
            "AcknowledgedBy",
        );
        named(parse_healthy(br#"{"ServiceID":""}"#, 1024), "ServiceID");
        assert_eq!(parse_healthy(b"[]", 1024), Err(WireError::NotAnObject));
    }
}

//! Properties of the wire parsers over generated input: no input makes them panic, and
//! every valid message survives any field order, unknown fields and white space.

use super::{parse_acknowledgement, parse_digest_request, parse_status_changed, DEFAULT_MAX_PAYLOAD};
use domain::{EventTime, Status};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Identifiers as the domain accepts them: printable, not blank, up to 256 characters.
fn identifier() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _./:@é漢-]{0,255}[a-zA-Z0-9é漢]"
}

/// Instants the 64-bit nanosecond clock can hold, with any number of fractional digits.
fn instant() -> impl Strategy<Value = EventTime> {
    (-9_000_000_000i64..9_000_000_000, 0i64..1_000_000_000)
        .prop_map(|(secs, nanos)| EventTime::from_nanos(secs * 1_000_000_000 + nanos))
}

/// A JSON value of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[A-Za-z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `fields` as a JSON object, in a shuffled order, with unknown fields mixed in.
fn object(fields: Vec<(&'static str, Value)>) -> impl Strategy<Value = String> {
    (
        Just(fields).prop_shuffle(),
        prop::collection::vec(("x[A-Za-z]{1,6}", any_json()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(fields, extra, pretty)| {
            let mut map = Map::new();
            for (k, v) in extra {
                map.insert(k, v);
            }
            for (k, v) in fields {
                map.insert(k.to_string(), v);
            }
            let value = Value::Object(map);
            if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                value.to_string()
            }
        })
}

proptest! {
    #[test]
    fn no_bytes_make_a_parser_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_status_changed(&bytes, DEFAULT_MAX_PAYLOAD);
        let _ = parse_digest_request(&bytes, DEFAULT_MAX_PAYLOAD);
        let _ = parse_acknowledgement(&bytes, DEFAULT_MAX_PAYLOAD);
    }

    #[test]
    fn no_json_value_makes_a_parser_panic_or_pass_without_its_fields(value in any_json()) {
        let bytes = value.to_string().into_bytes();
        prop_assert!(parse_status_changed(&bytes, DEFAULT_MAX_PAYLOAD).is_err());
        prop_assert!(parse_acknowledgement(&bytes, DEFAULT_MAX_PAYLOAD).is_err());
        prop_assert!(parse_digest_request(&bytes, DEFAULT_MAX_PAYLOAD).is_err());
    }

    #[test]
    fn a_valid_status_change_parses_to_its_fields_in_any_layout(
        (payload, user, alarm, status, at) in valid_status_change()
    ) {
        let event = parse_status_changed(payload.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap();
        prop_assert_eq!(event.user_id.as_str(), user.as_str());
        prop_assert_eq!(event.alarm_id.as_str(), alarm.as_str());
        prop_assert_eq!(event.version.status, status);
        prop_assert_eq!(event.version.changed_at, at);
    }

    #[test]
    fn a_status_change_missing_a_required_field_is_rejected_naming_it(
        (payload, missing) in (0usize..4).prop_flat_map(|missing| {
            let mut fields = vec![
                ("UserID", json!("u")),
                ("AlarmID", json!("a")),
                ("Status", json!("WARNING")),
                ("ChangedAt", json!("2026-01-01T00:00:00Z")),
            ];
            let name = fields.remove(missing).0;
            (object(fields), Just(name))
        })
    ) {
        let err = parse_status_changed(payload.as_bytes(), DEFAULT_MAX_PAYLOAD).unwrap_err();
        prop_assert_eq!(err.to_string(), format!("field {missing}: is missing"));
    }
}

/// A valid `AlarmStatusChanged` in a random layout, with the time written at a random
/// offset, and the values it must parse to.
fn valid_status_change() -> impl Strategy<Value = (String, String, String, Status, EventTime)> {
    (identifier(), identifier(), 0i64..3, instant(), -720i32..=720).prop_flat_map(
        |(user, alarm, rank, at, offset_minutes)| {
            let status = Status::from_rank(rank).unwrap();
            let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let written = at
                .to_datetime()
                .with_timezone(&offset)
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, false);
            let fields = vec![
                ("UserID", json!(user)),
                ("AlarmID", json!(alarm)),
                ("Status", json!(status.as_str())),
                ("ChangedAt", json!(written)),
            ];
            (object(fields), Just(user), Just(alarm), Just(status), Just(at))
        },
    )
}

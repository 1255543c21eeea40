//! Request bodies of the write routes: JSON only, within the size limit, parsed strictly (a
//! duplicated key is refused, not silently resolved to its last value).

use crate::error::HttpError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

/// The body's bytes once it is known to be JSON and within the limit: 413 over the limit,
/// 415 for another content type.
pub fn json_bytes(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, HttpError> {
    let body = body?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim();
            media.eq_ignore_ascii_case("application/json")
                || (media.starts_with("application/") && media.ends_with("+json"))
        });
    if is_json {
        Ok(body)
    } else {
        Err(HttpError::UnsupportedMediaType)
    }
}

/// Deserializes `T` strictly: 400 when the bytes are not JSON (or nest too deep), 422 when
/// they are JSON but not a valid `T`. The syntax (and nesting depth) is checked over the
/// whole body first, since a typed parse stops at the first field it refuses, before a
/// later syntax error. `objects` are the JSON pointers (`""` for the body) that must be
/// objects when present: a derived struct would also accept an array of its field values.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], objects: &[&str]) -> Result<T, HttpError> {
    let value: Value = serde_json::from_slice(bytes).map_err(rejection)?;
    for &pointer in objects {
        match value.pointer(pointer) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(_) => {
                let name = if pointer.is_empty() { "body" } else { &pointer[1..] };
                return Err(HttpError::Unprocessable(format!("{name}: must be an object")));
            }
        }
    }
    serde_json::from_slice(bytes).map_err(rejection)
}

/// The items of a body holding one JSON value or an array of them, each as its own raw
/// JSON text, so each can be parsed exactly as a NATS payload is; `true` when it was one.
pub fn one_or_many(bytes: &[u8]) -> Result<(Vec<Box<RawValue>>, bool), HttpError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        Ok((parse::<Vec<Box<RawValue>>>(bytes, &[])?, false))
    } else {
        Ok((vec![parse::<Box<RawValue>>(bytes, &[])?], true))
    }
}

/// The status a JSON error answers with.
pub fn rejection(e: serde_json::Error) -> HttpError {
    if e.is_data() {
        HttpError::Unprocessable(e.to_string())
    } else {
        HttpError::BadRequest(format!("body is not valid JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Probe {
        a: u8,
    }

    #[test]
    fn syntax_errors_are_400_and_invalid_values_422() {
        for bad in [&b"{"[..], b"\xff\xfe", b"", b"nul", br#"{"b":"#] {
            assert!(
                matches!(parse::<Probe>(bad, &[""]), Err(HttpError::BadRequest(_))),
                "{bad:?}"
            );
        }
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(
            parse::<Probe>(deep.as_bytes(), &[""]),
            Err(HttpError::BadRequest(_))
        ));
        for invalid in [
            &br#"{"a":"x"}"#[..],
            br#"{"a":1,"a":2}"#,
            br#"{"a":300}"#,
            b"[]",
            b"[1]",
        ] {
            let parsed = parse::<Probe>(invalid, &[""]);
            assert!(matches!(parsed, Err(HttpError::Unprocessable(_))), "{invalid:?}");
        }
        assert!(parse::<Probe>(b"[1]", &[]).is_ok(), "what the pointers guard against");
    }

    #[test]
    fn an_array_is_split_into_its_items_raw_and_anything_else_is_one_item() {
        let (items, one) = one_or_many(br#" [{"a":1,"a":2}, 3]"#).unwrap();
        assert_eq!((items.len(), one), (2, false));
        assert_eq!(items[0].get(), r#"{"a":1,"a":2}"#, "kept raw, duplicates and all");
        let (items, one) = one_or_many(br#"{"a":1}"#).unwrap();
        assert_eq!((items.len(), one), (1, true));
    }

    #[test]
    fn only_json_media_types_are_accepted() {
        let with = |media: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, media.parse().unwrap());
            json_bytes(&headers, Ok(Bytes::from_static(b"{}"))).is_ok()
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/problem+json"));
        assert!(!with("text/plain"));
        assert!(json_bytes(&HeaderMap::new(), Ok(Bytes::new())).is_err());
    }
}

//! AlarmDigest payloads: encoded once, and split into parts that each fit the broker's
//! max payload when the whole digest would not. Each part is a complete AlarmDigest.

use domain::{Digest, DigestId};

/// Header carrying the digest id on every part, the key to reassemble by.
pub const DIGEST_ID_HEADER: &str = "Alarm-Digest-Id";
/// Header carrying the 1-based number of this part.
pub const PART_HEADER: &str = "Alarm-Digest-Part";
/// Header carrying how many parts the digest has.
pub const PARTS_HEADER: &str = "Alarm-Digest-Parts";
/// Bytes kept free in every message for its headers (ids, part numbers), which count
/// against the max payload too.
pub const HEADER_ALLOWANCE: usize = 512;

/// The broker message id of part `index` (1-based) of `count`: the digest id itself when
/// the digest is one message, so an unsplit digest keeps the id it always had.
pub fn part_message_id(id: &DigestId, index: usize, count: usize) -> String {
    if count == 1 {
        id.as_str().to_string()
    } else {
        format!("{id}.{index}of{count}")
    }
}

/// Encodes `digest` as AlarmDigest payloads of at most `limit` bytes each, in order: the
/// alarms of part 1 come before those of part 2. One payload when it fits, and always at
/// least one (`"ActiveAlarms": []` when nothing is due). An alarm that alone would not
/// fit gets a part of its own.
pub fn encode_digest_parts(digest: &Digest, limit: usize) -> Vec<Vec<u8>> {
    let mut head = Vec::with_capacity(64);
    head.extend_from_slice(br#"{"UserID":"#);
    serde_json::to_writer(&mut head, digest.user_id.as_str()).expect("strings always serialize");
    head.extend_from_slice(br#","ActiveAlarms":["#);
    const TAIL: &[u8] = b"]}";

    let mut parts = Vec::new();
    let mut part = head.clone();
    let mut entry = Vec::with_capacity(128);
    let mut in_part = 0usize;
    for alarm in &digest.alarms {
        entry.clear();
        entry.extend_from_slice(br#"{"AlarmID":"#);
        serde_json::to_writer(&mut entry, alarm.alarm_id.as_str()).expect("strings always serialize");
        entry.extend_from_slice(br#","Status":""#);
        entry.extend_from_slice(alarm.status().as_str().as_bytes());
        entry.extend_from_slice(br#"","LatestChangedAt":""#);
        entry.extend_from_slice(alarm.changed_at().to_rfc3339().as_bytes());
        entry.extend_from_slice(br#""}"#);
        let comma = usize::from(in_part > 0);
        if in_part > 0 && part.len() + comma + entry.len() + TAIL.len() > limit {
            part.extend_from_slice(TAIL);
            parts.push(std::mem::replace(&mut part, head.clone()));
            in_part = 0;
        }
        if in_part > 0 {
            part.push(b',');
        }
        part.extend_from_slice(&entry);
        in_part += 1;
    }
    part.extend_from_slice(TAIL);
    parts.push(part);
    parts
}

/// Encodes an `AlarmDigest` as one payload; `ActiveAlarms` is `[]` when nothing is due.
pub fn encode_digest(digest: &Digest) -> Vec<u8> {
    encode_digest_parts(digest, usize::MAX)
        .pop()
        .expect("there is always one part")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{AlarmId, DueAlarm, EventTime, Status, UserId, Version};
    use serde_json::{json, Value};

    fn digest(alarms: usize) -> Digest {
        Digest::new(
            UserId::parse("u\"1").unwrap(),
            (0..alarms)
                .map(|i| DueAlarm {
                    alarm_id: AlarmId::parse(format!("alarm-{i:05}")).unwrap(),
                    version: Version {
                        changed_at: EventTime::from_nanos(1_623_098_415_598_765_212 + i as i64),
                        status: if i % 2 == 0 { Status::Warning } else { Status::Critical },
                    },
                })
                .collect(),
        )
    }

    fn alarms_of(payload: &[u8]) -> Vec<Value> {
        let v: Value = serde_json::from_slice(payload).expect("each part is JSON");
        assert_eq!(v["UserID"], "u\"1");
        v["ActiveAlarms"].as_array().unwrap().clone()
    }

    #[test]
    fn digest_is_encoded_with_wire_names_and_utc_nanoseconds() {
        let d = digest(1);
        let json: Value = serde_json::from_slice(&encode_digest(&d)).unwrap();
        assert_eq!(
            json,
            json!({"UserID":"u\"1","ActiveAlarms":[{"AlarmID":"alarm-00000","Status":"WARNING","LatestChangedAt":"2021-06-07T20:40:15.598765212Z"}]})
        );
        assert_eq!(
            String::from_utf8(encode_digest(&digest(0))).unwrap(),
            r#"{"UserID":"u\"1","ActiveAlarms":[]}"#
        );
    }

    #[test]
    fn a_digest_that_fits_stays_one_message() {
        let d = digest(100);
        let whole = encode_digest(&d);
        assert_eq!(encode_digest_parts(&d, whole.len()), vec![whole.clone()]);
        assert_eq!(encode_digest_parts(&digest(0), 64).len(), 1);
    }

    #[test]
    fn a_large_digest_is_split_into_valid_parts_under_the_limit_that_concatenate_to_it() {
        let d = digest(10_000);
        let whole = alarms_of(&encode_digest(&d));
        let limit = 64 * 1024;
        let parts = encode_digest_parts(&d, limit);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= limit));
        // Parts are filled: only the last may be far from the limit.
        assert!(parts[..parts.len() - 1].iter().all(|p| p.len() > limit - 200));
        let joined: Vec<Value> = parts.iter().flat_map(|p| alarms_of(p)).collect();
        assert_eq!(joined, whole);
    }

    #[test]
    fn an_alarm_larger_than_the_limit_gets_a_part_of_its_own() {
        let parts = encode_digest_parts(&digest(3), 10);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| alarms_of(p).len() == 1));
    }

    #[test]
    fn parts_have_their_own_message_ids_and_a_whole_digest_keeps_its_id() {
        let id = digest(1).id(3);
        assert_eq!(part_message_id(&id, 1, 1), id.as_str());
        let ids: std::collections::HashSet<_> = (1..=3).map(|i| part_message_id(&id, i, 3)).collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|p| p.starts_with(id.as_str()) && p != id.as_str()));
    }
}

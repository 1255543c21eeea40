//! Properties of the listing query over generated input: no query string makes the parser
//! panic or answer anything but a 400, and every valid query parses to what it says.

use super::listing::{decode_cursor, encode_cursor, listing, MAX_LIMIT};
use crate::error::HttpError;
use domain::episodes::Lifecycle;
use domain::query::{AlarmFilter, PageKey, PageRequest, SortOrder};
use domain::{AlarmId, EventTime, Status, UserId};
use proptest::prelude::*;

fn identifier() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _./:@&=+%?#é漢-]{0,40}[a-zA-Z0-9é漢]"
}

fn instant() -> impl Strategy<Value = EventTime> {
    (-9_000_000_000_000_000_000i64..9_000_000_000_000_000_000).prop_map(EventTime::from_nanos)
}

fn page_key() -> impl Strategy<Value = PageKey> {
    (instant(), identifier(), identifier()).prop_map(|(changed_at, alarm, user)| PageKey {
        changed_at,
        alarm_id: AlarmId::parse(alarm).unwrap(),
        user_id: UserId::parse(user).unwrap(),
    })
}

fn filter() -> impl Strategy<Value = AlarmFilter> {
    (
        proptest::option::of(identifier()),
        prop::collection::vec(0i64..3, 0..3),
        proptest::option::of(any::<bool>()),
        prop::collection::vec(prop::sample::select(Lifecycle::ALL.to_vec()), 0..3),
        proptest::option::of(".{0,12}"),
        proptest::option::of(".{0,12}"),
        proptest::option::of(instant()),
        proptest::option::of(instant()),
    )
        .prop_map(
            |(user, ranks, active, lifecycles, name, text, after, before)| AlarmFilter {
                user_id: user.map(|u| UserId::parse(u).unwrap()),
                statuses: ranks.into_iter().map(|r| Status::from_rank(r).unwrap()).collect(),
                active,
                lifecycles,
                name,
                service: None,
                user_name: None,
                text,
                changed_after: after,
                changed_before: before,
            },
        )
}

fn page() -> impl Strategy<Value = PageRequest> {
    (1..=MAX_LIMIT, proptest::option::of(page_key()), any::<bool>()).prop_map(|(limit, after, desc)| PageRequest {
        limit,
        after,
        order: if desc { SortOrder::Desc } else { SortOrder::Asc },
    })
}

/// The query string a client would write for `filter` and `page`.
fn query(filter: &AlarmFilter, page: &PageRequest) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(u) = &filter.user_id {
        pairs.push(("user_id", u.as_str().to_string()));
    }
    for s in &filter.statuses {
        pairs.push(("status", s.as_str().to_string()));
    }
    if let Some(a) = filter.active {
        pairs.push(("active", a.to_string()));
    }
    for l in &filter.lifecycles {
        pairs.push(("lifecycle", l.as_str().to_string()));
    }
    if let Some(n) = &filter.name {
        pairs.push(("name", n.clone()));
    }
    if let Some(q) = &filter.text {
        pairs.push(("q", q.clone()));
    }
    if let Some(t) = filter.changed_after {
        pairs.push(("changed_after", t.to_rfc3339()));
    }
    if let Some(t) = filter.changed_before {
        pairs.push(("changed_before", t.to_rfc3339()));
    }
    pairs.push(("limit", page.limit.to_string()));
    if let Some(key) = &page.after {
        pairs.push(("cursor", encode_cursor(key)));
    }
    let order = if page.order == SortOrder::Desc { "desc" } else { "asc" };
    pairs.push(("order", order.to_string()));
    serde_urlencoded::to_string(pairs).unwrap()
}

proptest! {
    #[test]
    fn no_query_string_makes_the_listing_panic_or_fail_otherwise_than_400(raw in ".{0,200}") {
        if let Err(e) = listing(Some(&raw)) {
            prop_assert!(matches!(e, HttpError::BadRequest(_)), "{e:?}");
        }
    }

    #[test]
    fn a_query_a_client_writes_parses_to_the_filter_and_page_it_names(filter in filter(), page in page()) {
        let raw = query(&filter, &page);
        let (parsed_filter, parsed_page) = listing(Some(&raw)).unwrap();
        prop_assert_eq!(parsed_filter, filter);
        prop_assert_eq!(parsed_page, page);
    }

    #[test]
    fn cursors_round_trip_and_no_string_makes_decoding_panic(key in page_key(), junk in ".{0,80}") {
        prop_assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        let _ = decode_cursor(&junk);
    }
}

//! The Alarms page: the API's listing with every filter it has as query-string fields,
//! cursor paging, and a live refresh of the rows that keeps the reader's page and place.

use super::layout::{alarm_path, page, segment, status_badge, ErrorPage};
use super::session::Access;
use crate::params::listing::{encode_cursor, listing as parse_listing, DEFAULT_LIMIT};
use crate::params::pairs;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Extension;
use domain::episodes::Lifecycle;
use maud::{html, Markup};

/// The listing's text filters: (query name, label, hint).
const TEXT_FILTERS: [(&str, &str, &str); 7] = [
    ("user_id", "User ID", ""),
    ("service", "Service", ""),
    ("name", "Name", ""),
    ("user_name", "User name", ""),
    ("q", "Text", ""),
    ("changed_after", "Changed after", "2026-01-01T00:00:00Z"),
    ("changed_before", "Changed before", "2026-01-02T00:00:00Z"),
];

/// Page sizes offered; the listing's default among them.
const PAGE_SIZES: [usize; 4] = [25, 50, DEFAULT_LIMIT, 500];

/// Seconds between two refreshes of the rows while live refresh is on.
const REFRESH_SECONDS: u32 = 5;

/// The query string as given, without empty fields (an empty field means "any").
struct Given(Vec<(String, String)>);

impl Given {
    fn value(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(n, v)| n == name && v == value)
    }

    /// `/alarms?…` with these fields, the cursor replaced by `cursor`.
    fn link(&self, cursor: Option<String>) -> String {
        let mut q: Vec<(String, String)> = self.0.iter().filter(|(n, _)| n != "cursor").cloned().collect();
        q.extend(cursor.map(|c| ("cursor".to_string(), c)));
        format!("/alarms?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    }
}

/// `GET /` and `GET /alarms`: the listing. The fields go through the parser the API's
/// listing uses ([`crate::params::listing`]), so a filter narrows exactly as the API's does.
pub async fn listing(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let given = Given(
        pairs(raw.as_deref())
            .map_err(fail)?
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
    );
    let query = serde_urlencoded::to_string(&given.0).unwrap_or_default();
    let (filter, request) = parse_listing(Some(&query)).map_err(fail)?;
    let page_of = state
        .queries
        .alarms(&filter, &request)
        .await
        .map_err(|e| fail(e.into()))?;
    let next = page_of.next.as_ref().map(|key| given.link(Some(encode_cursor(key))));
    let paged = !given.value("cursor").is_empty();
    let body = html! {
        h1 { "Alarms" }
        (filters(&given, request.limit))
        section #results data-refresh=(REFRESH_SECONDS) aria-labelledby="results-caption" {
            div.scroll {
                table.alarms.cards {
                    caption #results-caption { (page_of.items.len()) " alarms on this page" }
                    thead { tr {
                        th scope="col" { "Alarm" } th scope="col" { "User" } th scope="col" { "Status" }
                        th scope="col" { "Changed at" } th scope="col" { "Name" } th scope="col" { "Service" }
                        th scope="col" { "Lifecycle" } th scope="col" { "Due" }
                    } }
                    tbody {
                        @for r in &page_of.items {
                            @let latest = r.state.latest();
                            tr {
                                td data-label="Alarm" { a.alarm-link href=(alarm_path(r.user_id.as_str(), r.alarm_id.as_str())) { (r.alarm_id.as_str()) } }
                                td data-label="User" { a href={ "/users/" (segment(r.user_id.as_str())) "/digest" } title="Digest preview" { (r.user_id.as_str()) } }
                                td data-label="Status" { (status_badge(latest.map(|v| v.status.as_str()))) }
                                td data-label="Changed at" { @if let Some(v) = latest { time { (v.changed_at.to_rfc3339()) } } }
                                td data-label="Name" { (r.metadata.name.as_deref().unwrap_or("")) }
                                td data-label="Service" { (r.metadata.service.as_deref().unwrap_or("")) }
                                td data-label="Lifecycle" { (Lifecycle::of(&r.state.seen, &r.acknowledgements).map(Lifecycle::as_str).unwrap_or("")) }
                                td data-label="Due" { @if r.state.is_due() { "due" } @else { "no" } }
                            }
                        }
                    }
                }
            }
            nav.paging aria-label="Pages" {
                @if paged { a href=(given.link(None)) { "First page" } }
                @if let Some(next) = next { a rel="next" href=(next) { "Next page" } }
            }
        }
    };
    Ok(page("Alarms", &access, body))
}

/// The filter form: one field per API parameter, filled in from the query string, in a
/// box a phone folds away while no filter is set.
fn filters(given: &Given, limit: usize) -> Markup {
    let set = given
        .0
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "cursor" | "order" | "limit"))
        .count();
    html! {
        details.filters-box open data-set=(set) {
        summary { "Filters" @if set > 0 { " (" (set) " set)" } }
        form.filters method="get" action="/alarms" aria-label="Filters" {
            @for (name, label, hint) in TEXT_FILTERS {
                div.field {
                    label for={ "f-" (name) } { (label) }
                    input id={ "f-" (name) } type="text" name=(name) value=(given.value(name))
                        placeholder=[(!hint.is_empty()).then_some(hint)];
                }
            }
            fieldset.field #f-status {
                legend { "Status" }
                @for s in ["CRITICAL", "WARNING", "CLEARED"] {
                    label.check { input type="checkbox" name="status" value=(s) checked[given.has("status", s)]; " " (s) }
                }
            }
            fieldset.field #f-lifecycle {
                legend { "Lifecycle" }
                @for l in Lifecycle::ALL {
                    label.check { input type="checkbox" name="lifecycle" value=(l.as_str()) checked[given.has("lifecycle", l.as_str())]; " " (l.as_str()) }
                }
            }
            div.field {
                label for="f-active" { "Active" }
                select #f-active name="active" {
                    option value="" { "any" }
                    option value="true" selected[given.has("active", "true")] { "active" }
                    option value="false" selected[given.has("active", "false")] { "not active" }
                }
            }
            div.field {
                label for="f-order" { "Order" }
                select #f-order name="order" {
                    option value="asc" selected[!given.has("order", "desc")] { "oldest change first" }
                    option value="desc" selected[given.has("order", "desc")] { "newest change first" }
                }
            }
            div.field {
                label for="f-limit" { "Per page" }
                select #f-limit name="limit" {
                    @for n in PAGE_SIZES { option value=(n) selected[n == limit] { (n) } }
                    @if !PAGE_SIZES.contains(&limit) { option value=(limit) selected { (limit) } }
                }
            }
            div.actions {
                button type="submit" { "Filter" }
                a href="/alarms" { "Clear" }
            }
            div.field.live hidden {
                label.check { input #live type="checkbox" checked; " Live refresh" }
                span #live-status role="status" aria-live="polite" {}
            }
        }
        }
    }
}

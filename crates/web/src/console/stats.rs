//! The Statistics page: `GET /v1/stats` as a page, its filters in the query string (so a
//! view can be bookmarked), with the response-time distributions and the episodes opened
//! per hour drawn as charts.

use super::charts::{bar_chart, Bar, Chart};
use super::layout::{page, status_badge, ErrorPage};
use super::session::Access;
use crate::params::pairs;
use crate::params::stats::parse;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Extension;
use chrono::NaiveDateTime;
use domain::distribution::Bucket;
use domain::episodes::{seconds, Lifecycle, Summary};
use domain::Status;
use maud::{html, Markup};
use std::time::Duration;

/// The filters: (query name, label, hint).
const FILTERS: [(&str, &str, &str); 4] = [
    ("user_id", "User ID", ""),
    ("service", "Service", ""),
    ("since", "Since (UTC)", "2026-01-01T00:00 or RFC 3339"),
    ("until", "Until (UTC, exclusive)", "2026-01-02T00:00 or RFC 3339"),
];

/// A `datetime-local`-shaped value (`2026-01-01T00:00`, seconds optional) as RFC 3339 in
/// UTC; anything else unchanged, for the stats parser to accept or explain.
pub fn as_rfc3339(value: &str) -> String {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map_or_else(|| value.to_string(), |t| t.and_utc().to_rfc3339())
}

/// A duration as a person reads it: `42s`, `12.5s`, `3m 20s`, `2h 5m`, `1d 4h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => {
            let text = format!("{:.1}", seconds(d));
            format!("{}s", text.strip_suffix(".0").unwrap_or(&text))
        }
        60..3600 => two(s / 60, "m", s % 60, "s"),
        3600..86_400 => two(s / 3600, "h", s % 3600 / 60, "m"),
        _ => two(s / 86_400, "d", s % 86_400 / 3600, "h"),
    }
}

/// `3m 20s`, or `3m` when the smaller unit is zero.
fn two(large: u64, large_unit: &str, small: u64, small_unit: &str) -> String {
    if small == 0 {
        format!("{large}{large_unit}")
    } else {
        format!("{large}{large_unit} {small}{small_unit}")
    }
}

/// A duration as text for people, its exact seconds in `value` for machines.
fn duration_cell(d: Duration) -> Markup {
    html! { td { data value=(seconds(d)) { (human(d)) } } }
}

fn summary_row(what: &str, class: &str, summary: Option<&Summary>) -> Markup {
    html! {
        tr class=(class) {
            th scope="row" { (what) }
            @match summary {
                Some(s) => {
                    td.count { (s.count) }
                    (duration_cell(s.min)) (duration_cell(s.mean)) (duration_cell(s.p50))
                    (duration_cell(s.p90)) (duration_cell(s.max))
                }
                None => { td.count { "0" } td colspan="5" { "none yet" } }
            }
        }
    }
}

fn histogram(id: &str, title: &str, buckets: &[Bucket]) -> Markup {
    bar_chart(&Chart {
        id,
        title,
        x_axis: "time taken",
        y_axis: "episodes",
        bars: buckets
            .iter()
            .map(|b| Bar {
                label: b.label(),
                count: b.count,
            })
            .collect(),
        label_every: 1,
    })
}

/// `GET /stats`: counts and response times over the filter and window in the query string.
pub async fn stats(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let given: Vec<(String, String)> = pairs(raw.as_deref())
        .map_err(fail)?
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let asked: Vec<(String, String)> = given
        .iter()
        .map(|(n, v)| match n.as_str() {
            "since" | "until" => (n.clone(), as_rfc3339(v.trim())),
            _ => (n.clone(), v.clone()),
        })
        .collect();
    let query = serde_urlencoded::to_string(&asked).unwrap_or_default();
    let (filter, window) = parse(Some(&query)).map_err(fail)?;
    let stats = state
        .queries
        .stats(&filter, &window)
        .await
        .map_err(|e| fail(e.into()))?;
    let value = |name: &str| given.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    let hours: Vec<Bar> = stats
        .opened_per_hour
        .iter()
        .map(|h| Bar {
            label: h.hour.to_datetime().format("%H:00").to_string(),
            count: h.count,
        })
        .collect();
    let first_hour = stats.opened_per_hour.first().map(|h| h.hour.to_rfc3339());
    let body = html! {
        h1 { "Statistics" }
        form.filters method="get" action="/stats" aria-label="Filters" {
            @for (name, label, hint) in FILTERS {
                div.field {
                    label for={ "s-" (name) } { (label) }
                    input id={ "s-" (name) } type="text" name=(name) value=(value(name))
                        aria-describedby=[(!hint.is_empty()).then(|| format!("s-{name}-hint"))];
                    @if !hint.is_empty() { small.hint id={ "s-" (name) "-hint" } { (hint) } }
                }
            }
            div.actions {
                button type="submit" { "Show" }
                a href="/stats" { "Clear" }
            }
        }
        p { "Counts take the matching alarms whose latest change falls in the window; response times the episodes that started in it. "
            "Percentiles are nearest-rank: each is one of the measured durations." }
        div.tiles {
            section aria-labelledby="by-status" {
                h2 #by-status { "Alarms by status" }
                table.counts.by-status {
                    tbody {
                        @for s in Status::ALL.iter().rev() {
                            tr data-status=(s.as_str()) {
                                th scope="row" { (status_badge(Some(s.as_str()))) }
                                td.count { (stats.by_status.get(s.as_str()).copied().unwrap_or(0)) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="by-lifecycle" {
                h2 #by-lifecycle { "Alarms by lifecycle" }
                table.counts.by-lifecycle {
                    tbody {
                        @for l in Lifecycle::ALL {
                            tr data-lifecycle=(l.as_str()) {
                                th scope="row" { (l.as_str()) }
                                td.count { (stats.by_lifecycle.get(&l).copied().unwrap_or(0)) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="response" {
            h2 #response { "Response times" }
            p { (stats.episodes) " episodes started in the window." }
            div.scroll {
                table.response {
                    thead { tr {
                        th scope="col" { "" } th scope="col" { "Episodes" } th scope="col" { "Min" }
                        th scope="col" { "Mean" } th scope="col" { "p50" } th scope="col" { "p90" } th scope="col" { "Max" }
                    } }
                    tbody {
                        (summary_row("Time to acknowledge (MTTA)", "mtta", stats.time_to_acknowledge.as_ref()))
                        (summary_row("Time to resolve (MTTR)", "mttr", stats.time_to_resolve.as_ref()))
                    }
                }
            }
        }
        section aria-labelledby="charts" {
            h2 #charts { "Distributions" }
            div.charts {
                (histogram("chart-acknowledge", "Time to acknowledge, episodes per bucket", &stats.acknowledge_buckets))
                (histogram("chart-resolve", "Time to resolve, episodes per bucket", &stats.resolve_buckets))
                @if hours.is_empty() {
                    p.empty #chart-opened { "No episode opened in the window." }
                } @else {
                    (bar_chart(&Chart {
                        id: "chart-opened",
                        title: &format!("Episodes opened per hour (UTC), from {}", first_hour.unwrap_or_default()),
                        x_axis: "hour (UTC)",
                        y_axis: "episodes opened",
                        label_every: hours.len().div_ceil(8),
                        bars: hours,
                    }))
                }
            }
        }
    };
    Ok(page("Statistics", &access, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datetime_local_value_is_read_as_utc_and_rfc_3339_passes_unchanged() {
        assert_eq!(as_rfc3339("2026-01-01T00:05"), "2026-01-01T00:05:00+00:00");
        assert_eq!(as_rfc3339("2026-01-01T00:05:09"), "2026-01-01T00:05:09+00:00");
        assert_eq!(as_rfc3339("2026-01-01T00:05:09Z"), "2026-01-01T00:05:09Z");
        assert_eq!(as_rfc3339("later"), "later");
    }

    #[test]
    fn durations_read_in_the_units_a_person_uses() {
        let secs = Duration::from_secs;
        assert_eq!(human(secs(42)), "42s");
        assert_eq!(human(Duration::from_millis(12_500)), "12.5s");
        assert_eq!(human(secs(200)), "3m 20s");
        assert_eq!(human(secs(120)), "2m");
        assert_eq!(human(secs(7500)), "2h 5m");
        assert_eq!(human(secs(100_800)), "1d 4h");
    }
}

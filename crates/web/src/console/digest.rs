//! The Digest preview page: what the user's next digest would hold now, in order, and why,
//! the user's digest schedule with its next occurrences, and the digests sent last.

use super::layout::{alarm_path, millis, page, status_badge, ErrorPage};
use super::session::Access;
use crate::params::user_id;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use domain::schedule::ScheduleRecord;
use domain::Reason;
use maud::{html, Markup};

/// The reason in words, naming the delivered version.
fn explain(reason: &Reason) -> String {
    match reason {
        Reason::NeverDelivered => "never delivered".into(),
        Reason::ChangedSinceDelivered { delivered } => format!(
            "status changed since the delivered {}@{}",
            delivered.status.as_str(),
            delivered.changed_at.to_rfc3339()
        ),
        Reason::ClearedAndCameBack { delivered } => format!(
            "cleared and came back since the delivered {}@{}",
            delivered.status.as_str(),
            delivered.changed_at.to_rfc3339()
        ),
    }
}

/// `GET /users/{user}/digest`: the preview, read-only like `GET /v1/users/{id}/digest/preview`.
pub async fn preview(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(user): Path<String>,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let user = user_id(&user).map_err(fail)?;
    let alarms = state.digests.preview(&user).await.map_err(|e| fail(e.into()))?;
    let sent = state.digests.sent_digests(&user).await.map_err(|e| fail(e.into()))?;
    let schedule = state.schedules.get(&user).await.map_err(|e| fail(e.into()))?;
    let body = html! {
        h1 { "Next digest of " span.id { (user.as_str()) } }
        p { "What a digest sent now would hold, in order. Looking changes nothing." }
        @if alarms.is_empty() {
            p.empty { "Nothing is due: the next digest would be empty." }
        } @else {
            div.scroll {
                table.preview {
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Alarm" } th scope="col" { "Name" }
                        th scope="col" { "Status" } th scope="col" { "Changed at" } th scope="col" { "Why" }
                    } }
                    tbody {
                        @for (i, a) in alarms.iter().enumerate() {
                            tr data-reason=(a.reason.as_str()) {
                                td { (i + 1) }
                                td { a.alarm-link href=(alarm_path(user.as_str(), a.alarm.alarm_id.as_str())) { (a.alarm.alarm_id.as_str()) } }
                                td { (a.name.as_deref().unwrap_or("")) }
                                td { (status_badge(Some(a.alarm.status().as_str()))) }
                                td { time { (a.alarm.changed_at().to_rfc3339()) } }
                                td.reason { (explain(&a.reason)) }
                            }
                        }
                    }
                }
            }
        }
        (schedule_section(&state, schedule.as_ref()))
        section aria-labelledby="sent" {
            h2 #sent { "Last digests sent" }
            @if sent.is_empty() {
                p.empty { "No digest was sent to this user yet." }
            } @else {
                div.scroll {
                    table.sent.cards {
                        thead { tr { th scope="col" { "Digest" } th scope="col" { "Recorded at" } th scope="col" { "Alarms" } } }
                        tbody {
                            @for d in &sent {
                                tr {
                                    td.id data-label="Digest" { (d.id) }
                                    td data-label="Recorded at" { time { (millis(d.recorded_ms)) } }
                                    td data-label="Alarms" { (d.alarms) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&format!("Digest of {}", user.as_str()), &access, body))
}

/// How many occurrences the page lists.
const NEXT_OCCURRENCES: usize = 5;

/// The user's digest schedule and its next occurrences, in UTC and local time; set with
/// `PUT /v1/users/{id}/digest-schedule`.
fn schedule_section(state: &AppState, record: Option<&ScheduleRecord>) -> Markup {
    html! {
        section.schedule aria-labelledby="schedule" {
            h2 #schedule { "Schedule" }
            @match record {
                None => p.empty { "No schedule: a digest is sent when another service asks for one." },
                Some(r) => {
                    dl.facts {
                        dt { "Time zone" } dd.zone { (r.schedule.recurrence.zone()) }
                        dt { "Cron" } dd.cron { code { (r.schedule.recurrence.expression()) } }
                        dt { "Empty digests" } dd { @if r.schedule.send_empty { "sent" } @else { "not sent" } }
                    }
                    div.scroll {
                        table.occurrences {
                            thead { tr { th scope="col" { "Next occurrence (UTC)" } th scope="col" { "Local time" } th scope="col" { "Note" } } }
                            tbody {
                                @for o in state.schedules.next_occurrences(&r.schedule.recurrence, None, NEXT_OCCURRENCES) {
                                    tr {
                                        td { time { (o.at.to_rfc3339()) } }
                                        td { (o.local.to_rfc3339()) }
                                        td { @if o.local.naive_local() != o.scheduled {
                                            "stands for " (o.scheduled.format("%H:%M")) ", skipped by the clock change"
                                        } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

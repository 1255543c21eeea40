//! The Digest preview page: what the user's next digest would hold now, in order, and why,
//! the user's digest schedule with its next occurrences (edited in place, through the same
//! validation and use case as `PUT /v1/users/{id}/digest-schedule`), and the digests sent
//! last.

use super::layout::{alarm_path, millis, page, segment, status_badge, with_status, ErrorPage};
use super::session::Access;
use crate::error::HttpError;
use crate::params::user_id;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::recurrence::{Recurrence, RecurrenceError};
use domain::schedule::{DigestSchedule, ScheduleRecord};
use domain::{Reason, UserId};
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

fn digest_path(user: &UserId) -> String {
    format!("/users/{}/digest", segment(user.as_str()))
}

/// `GET /users/{user}/digest`: the preview, read-only like `GET /v1/users/{id}/digest/preview`.
pub async fn preview(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(user): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ErrorPage> {
    let user = user_id(&user).map_err(access.failing())?;
    let notice = match raw.as_deref() {
        Some("saved") => Some("Schedule saved."),
        Some("removed") => Some("The schedule was removed."),
        _ => None,
    };
    digest_page(&state, &access, &user, None, notice).await
}

/// The page, its schedule form holding `draft` (with the field at fault) when a save was
/// refused, or the stored schedule.
async fn digest_page(
    state: &AppState,
    access: &Access,
    user: &UserId,
    draft: Option<(&ScheduleForm, &Refusal)>,
    notice: Option<&str>,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let alarms = state.digests.preview(user).await.map_err(|e| fail(e.into()))?;
    let sent = state.digests.sent_digests(user).await.map_err(|e| fail(e.into()))?;
    let schedule = state.schedules.get(user).await.map_err(|e| fail(e.into()))?;
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
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        (schedule_section(state, schedule.as_ref()))
        (schedule_form(access, user, schedule.as_ref(), draft))
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
    Ok(page(&format!("Digest of {}", user.as_str()), access, body))
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

/// The schedule form's fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    cron: String,
    /// Present (`"true"`) when the box is ticked.
    #[serde(default)]
    send_empty: Option<String>,
    /// `save` (the default) or `remove`.
    #[serde(default)]
    op: Option<String>,
}

/// Why a schedule was not saved: the field at fault (its input's id) and what is wrong.
struct Refusal {
    field: &'static str,
    message: String,
}

impl From<RecurrenceError> for Refusal {
    fn from(e: RecurrenceError) -> Self {
        let field = match e {
            RecurrenceError::Zone(_) => "schedule-zone",
            RecurrenceError::Expression { .. } => "schedule-cron",
        };
        Refusal {
            field,
            message: e.to_string(),
        }
    }
}

/// One labelled text field of the schedule form, its error beside it.
fn text_field(id: &'static str, name: &str, label: &str, value: &str, hint: &str, refusal: Option<&Refusal>) -> Markup {
    let error = refusal.filter(|r| r.field == id);
    let error_id = format!("err-{id}");
    html! {
        div.field {
            label for=(id) { (label) }
            input #(id) type="text" name=(name) value=(value) required
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())];
            small { (hint) }
            @if let Some(e) = error { p.field-error id=(error_id) { (e.message) } }
        }
    }
}

/// The form that sets, replaces or removes the schedule; only for visitors who may write.
fn schedule_form(
    access: &Access,
    user: &UserId,
    stored: Option<&ScheduleRecord>,
    draft: Option<(&ScheduleForm, &Refusal)>,
) -> Markup {
    if !access.can_write {
        return html! {};
    }
    let (zone, cron, send_empty) = match (draft, stored) {
        (Some((form, _)), _) => (form.time_zone.clone(), form.cron.clone(), form.send_empty.is_some()),
        (None, Some(r)) => (
            r.schedule.recurrence.zone().to_string(),
            r.schedule.recurrence.expression().to_string(),
            r.schedule.send_empty,
        ),
        (None, None) => ("UTC".into(), "0 9 * * 1-5".into(), false),
    };
    let refusal = draft.map(|(_, r)| r);
    html! {
        @if refusal.is_some() {
            p.problem role="alert" { "Not saved: the schedule has a problem, shown beside its field." }
        }
        h3 { @if stored.is_some() { "Change the schedule" } @else { "Set a schedule" } }
        form.schedule-form method="post" action={ (digest_path(user)) "/schedule" } {
            input type="hidden" name="csrf" value=(access.csrf);
            (text_field("schedule-zone", "time_zone", "Time zone", &zone,
                "An IANA zone, e.g. Europe/Paris or America/New_York.", refusal))
            (text_field("schedule-cron", "cron", "Cron", &cron,
                "5 fields (minute hour day month weekday) or 6 with seconds first, in that zone.", refusal))
            div.field {
                label { input #schedule-empty type="checkbox" name="send_empty" value="true" checked[send_empty];
                    " Send an empty digest when nothing is due" }
            }
            div.actions {
                button #schedule-save type="submit" name="op" value="save" { "Save schedule" }
                @if stored.is_some() {
                    button #schedule-remove.danger type="submit" name="op" value="remove" { "Remove schedule" }
                }
            }
        }
    }
}

/// `POST /users/{user}/digest/schedule`: saves the schedule (the page again with the field
/// at fault, 422, when the zone or the expression is not valid) or removes it.
pub async fn submit_schedule(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(user): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Response {
    let fail = |error: HttpError| access.failing()(error).into_response();
    if let Err(refused) = access.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let user = match user_id(&user) {
        Ok(user) => user,
        Err(e) => return fail(e),
    };
    if form.op.as_deref() == Some("remove") {
        return match state.schedules.delete(&user).await {
            Ok(_) => Redirect::to(&format!("{}?removed", digest_path(&user))).into_response(),
            Err(e) => fail(e.into()),
        };
    }
    let recurrence = match Recurrence::parse(form.cron.trim(), form.time_zone.trim()) {
        Ok(recurrence) => recurrence,
        Err(e) => {
            let refusal = Refusal::from(e);
            return match digest_page(&state, &access, &user, Some((&form, &refusal)), None).await {
                Ok(page) => with_status(StatusCode::UNPROCESSABLE_ENTITY, page),
                Err(e) => e.into_response(),
            };
        }
    };
    let schedule = DigestSchedule {
        user_id: user.clone(),
        recurrence,
        send_empty: form.send_empty.is_some(),
    };
    match state.schedules.put(&schedule).await {
        Ok(_) => Redirect::to(&format!("{}?saved", digest_path(&user))).into_response(),
        Err(e) => fail(e.into()),
    }
}

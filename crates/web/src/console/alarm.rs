//! The Alarm page: status, metadata, history, acknowledgements, delivery, Acknowledge.

use super::layout::{alarm_path, millis, page, segment, status_badge, ErrorPage};
use super::session::Access;
use crate::error::HttpError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::episodes::Lifecycle;
use domain::ports::{Clock, SystemClock};
use domain::query::AckOutcome;
use maud::{html, Markup};
use serde::Deserialize;

/// `GET /alarms/{user}/{alarm}`: everything known about one alarm.
pub async fn one(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path((user, alarm)): Path<(String, String)>,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let r = state.alarm_record(&user, &alarm).await.map_err(fail)?;
    let history = state
        .queries
        .history(&r.user_id, &r.alarm_id)
        .await
        .map_err(|e| fail(e.into()))?;
    let latest = r.state.latest();
    let here = alarm_path(r.user_id.as_str(), r.alarm_id.as_str());
    let body = html! {
        h1 { "Alarm " span.id { (r.alarm_id.as_str()) } }
        dl.facts {
            dt { "User" } dd { a href={ "/users/" (segment(r.user_id.as_str())) "/digest" } { (r.user_id.as_str()) } }
            dt { "Status" } dd { (status_badge(latest.map(|v| v.status.as_str()))) }
            dt { "Changed at" } dd { @if let Some(v) = latest { time { (v.changed_at.to_rfc3339()) } } }
            dt { "Lifecycle" } dd { (Lifecycle::of(&r.state.seen, &r.acknowledgements).map(Lifecycle::as_str).unwrap_or("")) }
            dt { "Name" } dd { (r.metadata.name.as_deref().unwrap_or("")) }
            dt { "Service" } dd { (r.metadata.service.as_deref().unwrap_or("")) }
            @if let Some(name) = &r.metadata.service_name { dt { "Service name" } dd.service-name { (name) } }
            dt { "Summary" } dd.summary { (r.metadata.summary.as_deref().unwrap_or("")) }
            dt { "User name" } dd { (r.metadata.user_name.as_deref().unwrap_or("")) }
            dt { "Delivered" } dd.delivery {
                @match r.state.delivered {
                    Some(v) => { (v.status.as_str()) " @ " (v.changed_at.to_rfc3339())
                        @if let Some(ms) = r.delivered_ms { ", sent " (millis(ms)) } }
                    None => { "never" }
                }
            }
            dt { "Due for the next digest" } dd.due { @if r.state.is_due() { "yes" } @else { "no" } }
        }
        section aria-labelledby="acks" {
            h2 #acks { "Acknowledgements" }
            @if r.acknowledgements.is_empty() { p { "None yet." } }
            ul.acks { @for t in &r.acknowledgements { li { time { (t.to_rfc3339()) } } } }
            @if access.can_write {
                form method="post" action={ (here) "/ack" } {
                    input type="hidden" name="csrf" value=(access.csrf);
                    button #acknowledge type="submit" { "Acknowledge" }
                }
            }
        }
        section aria-labelledby="history" {
            h2 #history { "History" }
            div.scroll {
                table.history {
                    thead { tr { th scope="col" { "Outcome" } th scope="col" { "Status" } th scope="col" { "Event time" } th scope="col" { "Arrival time" } } }
                    tbody {
                        @for e in &history {
                            tr class={ "outcome-" (e.outcome.as_str()) } {
                                td { (e.outcome.as_str()) }
                                td { (status_badge(Some(e.version.status.as_str()))) }
                                td { time { (e.version.changed_at.to_rfc3339()) } }
                                td { time { (millis(e.received_ms)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&format!("Alarm {}", r.alarm_id.as_str()), &access, body))
}

/// The Acknowledge form's field.
#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /alarms/{user}/{alarm}/ack`: acknowledges now, then back to the alarm's page.
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path((user, alarm)): Path<(String, String)>,
    Form(form): Form<AckForm>,
) -> Response {
    let fail = access.failing();
    if let Err(refused) = access.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let r = match state.alarm_record(&user, &alarm).await {
        Ok(r) => r,
        Err(e) => return fail(e).into_response(),
    };
    match state
        .updates
        .acknowledge(&r.user_id, &r.alarm_id, SystemClock.now())
        .await
    {
        Ok(AckOutcome::Recorded | AckOutcome::AlreadyRecorded) => {
            Redirect::to(&alarm_path(r.user_id.as_str(), r.alarm_id.as_str())).into_response()
        }
        Ok(AckOutcome::UnknownAlarm) => {
            fail(HttpError::NotFound(format!("no alarm {alarm} of user {user}"))).into_response()
        }
        Err(e) => fail(e.into()).into_response(),
    }
}

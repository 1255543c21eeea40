//! The Services page (every service the pager holds, paged by id) and the Service page
//! (health, the open incident with its escalation countdown, Acknowledge, Mark healthy,
//! the notifications sent).

use super::layout::{page, segment, ErrorPage};
use super::session::Access;
use crate::error::HttpError;
use crate::params::services::services_query;
use crate::params::{pairs, service_id};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::pager::{Incident, PagerRecord};
use domain::{EventTime, ServiceId};
use maud::{html, Markup};
use serde::Deserialize;
use usecases::pager::{PagerError, PagerReport};

/// How many sent notifications the Service page shows.
const NOTIFICATIONS_SHOWN: usize = 20;

/// The console path of one service.
pub fn service_path(service: &str) -> String {
    format!("/services/{}", segment(service))
}

/// A duration as people read it: `4 min 10 s`, `2 h 5 min`, `0 s`.
pub fn remaining(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

/// Health as a badge: the word and a colour.
fn health(record: &PagerRecord) -> Markup {
    match record.state.incident() {
        None => html! { span.status.status-cleared { "healthy" } },
        Some(i) if i.acknowledged.is_some() => html! { span.status.status-warning { "unhealthy, acknowledged" } },
        Some(i) if i.held_until.is_some() => html! { span.status.status-warning { "unhealthy, in maintenance" } },
        Some(_) => html! { span.status.status-critical { "unhealthy" } },
    }
}

/// When the next level is notified, counted down from `now`, or why nobody more will be.
fn countdown(incident: &Incident, now: EventTime) -> Markup {
    match (incident.timeout_at, &incident.acknowledged) {
        (_, Some(_)) => html! { "none: acknowledged" },
        (_, None) if incident.held_until.is_some() => {
            let until = incident.held_until.unwrap_or(now);
            html! {
                span.maintenance {
                    "in maintenance until "
                    time datetime=(until.to_rfc3339()) { (until.to_rfc3339()) }
                    ": nobody is paged; level 1 then, if still open"
                }
            }
        }
        (None, None) if incident.level == 0 => html! { "none: the service has no policy" },
        (None, None) => html! { "none: no further level" },
        (Some(at), None) => {
            let left = if at > now { at.duration_since(now).as_secs() } else { 0 };
            html! {
                span.countdown {
                    "next level in "
                    time datetime=(at.to_rfc3339()) data-countdown { (remaining(left)) }
                }
            }
        }
    }
}

/// `GET /services`: one page of services by id, `after` and `limit` as in the API; with
/// `policy=ID` (the page's "Open" form), on to that service's policy editor, so a policy
/// can be written for a service no alert reached yet.
pub async fn listing(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ErrorPage> {
    let fail = access.failing();
    let pairs = pairs(raw.as_deref()).map_err(fail)?;
    if let Some((_, wanted)) = pairs.iter().find(|(n, _)| n == "policy") {
        let id = service_id(wanted.trim()).map_err(fail)?;
        return Ok(Redirect::to(&format!("{}/policy", service_path(id.as_str()))).into_response());
    }
    let (after, limit) = services_query(raw.as_deref()).map_err(fail)?;
    let page_of = state
        .pager
        .services(after.as_ref(), limit)
        .await
        .map_err(|e| fail(e.into()))?;
    let now = state.pager.now();
    let next = page_of.next_after.as_ref().map(|id| {
        let q = [("after", id.as_str().to_string()), ("limit", limit.to_string())];
        format!("/services?{}", serde_urlencoded::to_string(q).unwrap_or_default())
    });
    let body = html! {
        h1 { "Services" }
        form.filters method="get" action="/services" aria-label="Open a policy" {
            div.field {
                label for="open-policy" { "Escalation policy of service" }
                input #open-policy type="text" name="policy" required placeholder="payments";
            }
            div.actions { button type="submit" { "Open the policy editor" } }
        }
        div.scroll {
            table.services {
                caption { (page_of.services.len()) " services on this page" }
                thead { tr {
                    th scope="col" { "Service" } th scope="col" { "Health" } th scope="col" { "Incident" }
                    th scope="col" { "Level" } th scope="col" { "Escalation" }
                } }
                tbody {
                    @for (id, record) in &page_of.services {
                        tr {
                            td { a.service-link href=(service_path(id.as_str())) { (id.as_str()) } }
                            td { (health(record)) }
                            @if let Some(i) = record.state.incident() {
                                td { (i.message) }
                                td { (i.level) }
                                td { (countdown(i, now)) }
                            } @else {
                                td {} td {} td {}
                            }
                        }
                    }
                }
            }
        }
        nav.paging aria-label="Pages" {
            @if after.is_some() { a href="/services" { "First page" } }
            @if let Some(next) = next { a rel="next" href=(next) { "Next page" } }
        }
    };
    Ok(page("Services", &access, body).into_response())
}

/// `GET /services/{service}`: one service, its incident, actions and sent notifications.
pub async fn one(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let id = service_id(&service).map_err(fail)?;
    let record = state
        .pager
        .known_service(&id)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(|| fail(HttpError::NotFound(format!("no service {id}"))))?;
    let sent = state
        .pager
        .sent_notifications(&id, NOTIFICATIONS_SHOWN)
        .await
        .map_err(|e| fail(e.into()))?;
    let now = state.pager.now();
    let here = service_path(id.as_str());
    let body = html! {
        h1 { "Service " span.id { (id.as_str()) } }
        dl.facts {
            dt { "Health" } dd.health { (health(&record)) }
            dt { "Escalation policy" } dd { a href={ (here) "/policy" } { "View or edit the policy" } }
        }
        @if let Some(i) = record.state.incident() {
            section aria-labelledby="incident" {
                h2 #incident { "Incident " (i.number) }
                dl.facts {
                    dt { "Message" } dd.message { (i.message) }
                    dt { "Opened at" } dd { time datetime=(i.opened_at.to_rfc3339()) { (i.opened_at.to_rfc3339()) } }
                    dt { "Level notified" } dd.level { (i.level) }
                    dt { "Acknowledged" } dd.acknowledged {
                        @match &i.acknowledged {
                            Some(a) => { "by " (a.by.as_deref().unwrap_or("someone unnamed")) " at "
                                time datetime=(a.at.to_rfc3339()) { (a.at.to_rfc3339()) } }
                            None => { "no" }
                        }
                    }
                    dt { "Next escalation" } dd.escalation { (countdown(i, now)) }
                }
                @if access.can_write {
                    div.pager-actions {
                        @if i.acknowledged.is_none() {
                            form.ack method="post" action={ (here) "/acknowledge" } {
                                input type="hidden" name="csrf" value=(access.csrf);
                                div.field {
                                    label for="acknowledged-by" { "Acknowledged by (optional)" }
                                    input #acknowledged-by type="text" name="by" autocomplete="name";
                                }
                                button #acknowledge type="submit" { "Acknowledge" }
                            }
                        }
                        form method="post" action={ (here) "/healthy" } {
                            input type="hidden" name="csrf" value=(access.csrf);
                            button #mark-healthy type="submit" { "Mark healthy" }
                        }
                    }
                }
            }
        } @else {
            p { "No open incident." }
        }
        section aria-labelledby="sent" {
            h2 #sent { "Notifications sent" }
            @if sent.is_empty() { p { "None." } }
            @else {
                div.scroll {
                    table.notifications {
                        caption { "The last " (sent.len()) ", newest first" }
                        thead { tr { th scope="col" { "Incident" } th scope="col" { "Level" } th scope="col" { "Target" } th scope="col" { "Sent at" } } }
                        tbody {
                            @for s in &sent {
                                tr {
                                    td { (s.notification.incident) }
                                    td { (s.notification.level) @if s.notification.repeat > 0 { " (repeat " (s.notification.repeat) ")" } }
                                    td { (s.notification.target.channel().as_str()) " " (s.notification.target.address()) }
                                    td { time datetime=(s.sent_at.to_rfc3339()) { (s.sent_at.to_rfc3339()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/services" { "All services" } }
    };
    Ok(page(&format!("Service {}", id.as_str()), &access, body))
}

/// The fields of the Acknowledge and Mark healthy forms.
#[derive(Deserialize)]
pub struct PagerActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    by: String,
}

/// Checks the CSRF token and the service id of a pager action.
fn action_target(access: &Access, form: &PagerActionForm, service: &str) -> Result<ServiceId, ErrorPage> {
    access.check_csrf(&form.csrf)?;
    service_id(service).map_err(access.failing())
}

/// `POST /services/{service}/acknowledge`: escalation stops, then back to the service.
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
    Form(form): Form<PagerActionForm>,
) -> Response {
    let id = match action_target(&access, &form, &service) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    let by = Some(form.by.trim()).filter(|b| !b.is_empty());
    settle(&access, &id, state.pager.acknowledge(&id, by).await)
}

/// `POST /services/{service}/healthy`: the incident closes, then back to the service.
pub async fn healthy(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
    Form(form): Form<PagerActionForm>,
) -> Response {
    let id = match action_target(&access, &form, &service) {
        Ok(id) => id,
        Err(page) => return page.into_response(),
    };
    settle(&access, &id, state.pager.healthy(&id).await)
}

/// After a pager action: back to the service's page, or the error page.
fn settle(access: &Access, id: &ServiceId, done: Result<PagerReport, PagerError>) -> Response {
    match done {
        Ok(_) => Redirect::to(&service_path(id.as_str())).into_response(),
        Err(e) => access.failing()(e.into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_reads_in_hours_minutes_and_seconds() {
        assert_eq!(remaining(0), "0 s");
        assert_eq!(remaining(59), "59 s");
        assert_eq!(remaining(250), "4 min 10 s");
        assert_eq!(remaining(7500), "2 h 5 min");
    }

    #[test]
    fn a_hostile_service_id_stays_one_escaped_path_segment() {
        assert_eq!(service_path("<script>\"/x"), "/services/%3Cscript%3E%22%2Fx");
    }
}

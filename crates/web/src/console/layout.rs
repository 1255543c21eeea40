//! The page shell, the error page (the problem details the API would answer, as HTML) and
//! the URL pieces the pages build from attacker-controlled ids.

use super::session::Access;
use crate::error::HttpError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::EventTime;
use maud::{html, Markup, DOCTYPE};

/// A whole page: head, navigation (with logout when there is a session) and `body`.
pub fn page(title: &str, access: &Access, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · alarm-digest" }
                link rel="stylesheet" href="/console.css";
                script src="/console.js" defer {}
            }
            body {
                header.top {
                    nav aria-label="Console" {
                        a.brand href="/" { "alarm-digest" }
                        a href="/alarms" { "Alarms" }
                        a href="/stats" { "Statistics" }
                        a href="/dead-letters" { "Dead letters" }
                        a href="/services" { "Services" }
                        @if access.logged_in {
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(access.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An error as a page showing its problem details: status, title and detail.
pub struct ErrorPage {
    /// What went wrong.
    pub error: HttpError,
    /// Who asked, for the navigation.
    pub access: Access,
}

impl Access {
    /// Turns an error into the error page shown to this visitor.
    pub fn failing(&self) -> impl Fn(HttpError) -> ErrorPage + Copy + '_ {
        move |error| ErrorPage {
            error,
            access: self.clone(),
        }
    }
}

impl Access {
    /// The 403 page unless a submitted form carries this session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), ErrorPage> {
        if self.csrf_matches(presented) {
            return Ok(());
        }
        Err(self.failing()(HttpError::Forbidden(
            "the form's CSRF token is missing or wrong".into(),
        )))
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let detail = self.error.client_detail();
        let body = html! {
            h1 { (status.as_u16()) " " (title) }
            section.problem role="alert" {
                dl {
                    dt { "status" } dd { (status.as_u16()) }
                    dt { "title" } dd { (title) }
                    dt { "detail" } dd.detail { (detail) }
                }
            }
            p { a href="/alarms" { "Back to the alarms" } }
        };
        (status, page(title, &self.access, body)).into_response()
    }
}

/// `StatusCode` and page, for handlers that answer with a status of their own.
pub fn with_status(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// One path segment, percent-encoded: everything but RFC 3986's unreserved characters,
/// so an id with `/`, `?`, `#` or quotes stays one segment.
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The console path of one alarm.
pub fn alarm_path(user: &str, alarm: &str) -> String {
    format!("/alarms/{}/{}", segment(user), segment(alarm))
}

/// Unix milliseconds as RFC 3339.
pub fn millis(ms: i64) -> String {
    EventTime::from_nanos(ms.saturating_mul(1_000_000)).to_rfc3339()
}

/// A status as a badge: its name as text, its colour from a class.
pub fn status_badge(status: Option<&str>) -> Markup {
    match status {
        Some(s) => html! { span class={ "status status-" (s.to_ascii_lowercase()) } { (s) } },
        None => html! { span.status { "none" } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_id_stays_one_escaped_path_segment() {
        assert_eq!(segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(alarm_path("u 1", "<script>\"'"), "/alarms/u%201/%3Cscript%3E%22%27");
        assert_eq!(segment("é"), "%C3%A9");
    }
}

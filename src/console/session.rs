//! Console sessions when `API_READ_TOKEN`/`API_TOKEN` are set: a login form that sets an
//! HttpOnly, SameSite=Strict cookie holding the token, a CSRF token on every write form,
//! and logout. Without tokens the console is open, as the API is.

use super::layout::{page, with_status};
use crate::http::auth::{token_matches, Tokens};
use crate::http::AppState;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "alarm_digest_session";

/// What the visitor may do, found by [`require`] and handed to the pages.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// A session cookie with a valid token was presented.
    pub logged_in: bool,
    /// Write actions are allowed.
    pub can_write: bool,
    /// The CSRF token write forms carry; empty when the console is open.
    pub csrf: String,
}

impl Access {
    /// Whether a submitted form's CSRF token is this session's; always, when open.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.is_empty() || token_matches(presented, &self.csrf)
    }
}

/// Reads the session cookie against the configured tokens. `None`: reads are not allowed.
fn access(tokens: &Tokens, headers: &HeaderMap) -> Option<Access> {
    if tokens.read.is_none() && tokens.write.is_none() {
        return Some(Access {
            can_write: true,
            ..Access::default()
        });
    }
    let presented = session_token(headers);
    let is = |expected: &Option<String>| match (&presented, expected) {
        (Some(p), Some(e)) => token_matches(p, e),
        _ => false,
    };
    let writer = is(&tokens.write);
    let reader = writer || is(&tokens.read);
    let logged_in = reader;
    let can_read = reader || tokens.read.is_none();
    let can_write = writer || (tokens.write.is_none() && reader);
    can_read.then(|| Access {
        logged_in,
        can_write,
        csrf: presented
            .as_deref()
            .filter(|_| logged_in)
            .map(csrf_for)
            .unwrap_or_default(),
    })
}

/// The token in the session cookie, hex-decoded.
fn session_token(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))?;
    let bytes = (0..value.len())
        .step_by(2)
        .map(|i| value.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// The CSRF token of a session: derived from its secret token, which only the server and
/// the HttpOnly cookie hold, so another site can neither read nor forge it.
fn csrf_for(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"alarm-digest console csrf\0");
    h.update(token.as_bytes());
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Middleware of the pages: reads need the read token (when set), writes the write token;
/// otherwise a 401 with the login form. Pages find the [`Access`] in the extensions.
pub async fn require(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let wanted = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    match access(&state.tokens, request.headers()) {
        Some(access) if request.method() == Method::GET || access.can_write => {
            request.extensions_mut().insert(access);
            next.run(request).await
        }
        Some(_) => login_page(
            StatusCode::UNAUTHORIZED,
            &wanted,
            Some("This action needs the write token (API_TOKEN)."),
        ),
        None => login_page(StatusCode::UNAUTHORIZED, &wanted, None),
    }
}

fn login_page(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let body = html! {
        h1 { "Log in" }
        @if let Some(problem) = problem {
            p.problem role="alert" { (problem) }
        }
        form.login method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "API token" }
            input #token type="password" name="token" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
    };
    with_status(status, page("Log in", &Access::default(), body))
}

/// Where to go after logging in.
#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only a path of this site: never another origin (`//host`, `https://…`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

/// `GET /login`: the form, or straight on when the console needs no token.
pub async fn login_form(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    if state.tokens.read.is_none() && state.tokens.write.is_none() {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, safe_next(q.next.as_deref()), None)
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct Login {
    token: String,
    next: Option<String>,
}

/// `POST /login`: a valid token sets the session cookie; anything else is a 401 form.
pub async fn login(State(state): State<AppState>, Form(form): Form<Login>) -> Response {
    let valid = [&state.tokens.write, &state.tokens.read]
        .into_iter()
        .flatten()
        .any(|expected| token_matches(&form.token, expected));
    let next = safe_next(form.next.as_deref());
    if !valid {
        return login_page(StatusCode::UNAUTHORIZED, next, Some("That token is not valid."));
    }
    let hex: String = form.token.bytes().map(|b| format!("{b:02x}")).collect();
    let cookie = format!("{COOKIE}={hex}; HttpOnly; SameSite=Strict; Path=/");
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The logout form's field.
#[derive(Deserialize)]
pub struct Logout {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: clears the cookie (a forged logout, without the CSRF token, does not).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<Logout>) -> Response {
    if let Some(access) = access(&state.tokens, &headers) {
        if !access.csrf_matches(&form.csrf) {
            return login_page(
                StatusCode::FORBIDDEN,
                "/",
                Some("The form's CSRF token is missing or wrong."),
            );
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("alarm_digest_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(token: &str) -> HeaderMap {
        let hex: String = token.bytes().map(|b| format!("{b:02x}")).collect();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("other=1; {COOKIE}={hex}").parse().unwrap());
        h
    }

    fn tokens(read: Option<&str>, write: Option<&str>) -> Tokens {
        Tokens {
            read: read.map(Into::into),
            write: write.map(Into::into),
        }
    }

    #[test]
    fn without_tokens_everything_is_open_and_needs_no_csrf() {
        let a = access(&Tokens::default(), &HeaderMap::new()).unwrap();
        assert!(a.can_write && !a.logged_in && a.csrf_matches(""));
    }

    #[test]
    fn with_tokens_nothing_is_allowed_without_a_valid_session() {
        let t = tokens(Some("r"), Some("w"));
        assert!(access(&t, &HeaderMap::new()).is_none());
        assert!(access(&t, &with_cookie("x")).is_none());
        let reader = access(&t, &with_cookie("r")).unwrap();
        assert!(reader.logged_in && !reader.can_write);
        let writer = access(&t, &with_cookie("w")).unwrap();
        assert!(writer.can_write);
        assert!(writer.csrf_matches(&csrf_for("w")));
        assert!(!writer.csrf_matches("") && !writer.csrf_matches(&csrf_for("r")));
    }

    #[test]
    fn after_login_only_paths_of_this_site_are_followed() {
        assert_eq!(safe_next(Some("/alarms?q=1")), "/alarms?q=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "alarms"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }
}

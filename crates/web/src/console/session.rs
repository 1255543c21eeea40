//! Console sessions when `API_READ_TOKEN`/`API_TOKEN` are set: a login form that opens a
//! 12-hour session in an HttpOnly, SameSite=Strict cookie signed with the token (never the
//! token itself), a CSRF token on every write form, and logout. Without tokens the
//! console is open, as the API is.

use super::layout::{page, with_status};
use crate::auth::{token_matches, Tokens};
use crate::state::AppState;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// How long a session lasts after logging in.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// What a session was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The read token (`API_READ_TOKEN`).
    Read,
    /// The write token (`API_TOKEN`).
    Write,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Read => "r",
            Level::Write => "w",
        }
    }

    /// The configured token of this level.
    fn token(self, tokens: &Tokens) -> Option<&str> {
        match self {
            Level::Read => tokens.read.as_deref(),
            Level::Write => tokens.write.as_deref(),
        }
    }
}

/// HMAC-SHA256 keyed with a token over `parts`, each followed by a NUL.
fn mac(token: &str, parts: &[&str]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A session cookie's value, `{level}.{expires}.{signature}`: signed with the token it was
/// opened with, so it holds no secret, ends at `expires` (Unix seconds), and every session
/// ends when that token changes. Any replica with the same tokens accepts it.
fn open_session(level: Level, token: &str, now: SystemTime) -> String {
    let expires = (unix_seconds(now) + SESSION_TTL.as_secs()).to_string();
    let signature = mac(token, &["alarm-digest console session", level.as_str(), &expires]).finalize();
    format!("{}.{expires}.{}", level.as_str(), hex(&signature.into_bytes()))
}

/// The level of a session cookie's value, if its signature holds under the configured
/// token of that level and it has not expired.
fn session_level(value: &str, tokens: &Tokens, now: SystemTime) -> Option<Level> {
    let mut parts = value.splitn(3, '.');
    let level = match parts.next()? {
        "r" => Level::Read,
        "w" => Level::Write,
        _ => return None,
    };
    let expires = parts.next()?;
    let signature = parts.next()?;
    if expires.parse::<u64>().ok()? <= unix_seconds(now) {
        return None;
    }
    let signature = (0..signature.len())
        .step_by(2)
        .map(|i| signature.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    mac(
        level.token(tokens)?,
        &["alarm-digest console session", level.as_str(), expires],
    )
    .verify_slice(&signature)
    .ok()
    .map(|()| level)
}

/// Reads the session cookie against the configured tokens. `None`: reads are not allowed.
fn access(tokens: &Tokens, headers: &HeaderMap, now: SystemTime) -> Option<Access> {
    if tokens.read.is_none() && tokens.write.is_none() {
        return Some(Access {
            can_write: true,
            ..Access::default()
        });
    }
    let cookie = session_cookie(headers);
    let level = cookie.and_then(|c| session_level(c, tokens, now));
    let logged_in = level.is_some();
    let can_read = logged_in || tokens.read.is_none();
    let can_write = level == Some(Level::Write) || (tokens.write.is_none() && logged_in);
    can_read.then(|| Access {
        logged_in,
        can_write,
        csrf: match (level, cookie) {
            (Some(level), Some(cookie)) => csrf_for(level.token(tokens).unwrap_or_default(), cookie),
            _ => String::new(),
        },
    })
}

/// The session cookie's value, as sent.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The CSRF token of a session: a signature of its cookie under its token, which only the
/// server holds and the HttpOnly cookie carries, so another site can neither read nor
/// forge it, and it changes with every login.
fn csrf_for(token: &str, cookie: &str) -> String {
    hex(&mac(token, &["alarm-digest console csrf", cookie])
        .finalize()
        .into_bytes()[..16])
}

/// Middleware of the pages: reads need the read token (when set), writes the write token;
/// otherwise a 401 with the login form. Pages find the [`Access`] in the extensions.
pub async fn require(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let wanted = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    match access(&state.tokens, request.headers(), SystemTime::now()) {
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

/// `POST /login`: a valid token opens a session (the write token's, when it is both);
/// anything else is a 401 form.
pub async fn login(State(state): State<AppState>, Form(form): Form<Login>) -> Response {
    let level = [Level::Write, Level::Read].into_iter().find(|level| {
        level
            .token(&state.tokens)
            .is_some_and(|t| token_matches(&form.token, t))
    });
    let next = safe_next(form.next.as_deref());
    let Some(level) = level else {
        return login_page(StatusCode::UNAUTHORIZED, next, Some("That token is not valid."));
    };
    let value = open_session(level, &form.token, SystemTime::now());
    let cookie = format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    );
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
    if let Some(access) = access(&state.tokens, &headers, SystemTime::now()) {
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

    const T0: Duration = Duration::from_secs(1_800_000_000);

    fn at(offset: Duration) -> SystemTime {
        UNIX_EPOCH + T0 + offset
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("other=1; {COOKIE}={value}").parse().unwrap());
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
        let a = access(&Tokens::default(), &HeaderMap::new(), at(Duration::ZERO)).unwrap();
        assert!(a.can_write && !a.logged_in && a.csrf_matches(""));
    }

    #[test]
    fn with_tokens_nothing_is_allowed_without_a_valid_session() {
        let t = tokens(Some("r"), Some("w"));
        let now = at(Duration::ZERO);
        assert!(access(&t, &HeaderMap::new(), now).is_none());
        for forged in ["w", "w.9999999999.00", "x.1.2", "", "w..", "r.9999999999.zz"] {
            assert!(access(&t, &with_cookie(forged), now).is_none(), "{forged}");
        }
        let guessed = open_session(Level::Write, "guess", now);
        assert!(access(&t, &with_cookie(&guessed), now).is_none());
        let reader = access(&t, &with_cookie(&open_session(Level::Read, "r", now)), now).unwrap();
        assert!(reader.logged_in && !reader.can_write);
        let session = open_session(Level::Write, "w", now);
        let writer = access(&t, &with_cookie(&session), now).unwrap();
        assert!(writer.can_write);
        assert!(writer.csrf_matches(&csrf_for("w", &session)));
        assert!(!writer.csrf_matches("") && !writer.csrf_matches(&csrf_for("r", &session)));
    }

    #[test]
    fn a_session_holds_no_token_and_ends_when_it_expires_or_its_token_changes() {
        let now = at(Duration::ZERO);
        let session = open_session(Level::Write, "secret-write-token", now);
        assert!(!session.contains("secret-write-token"));
        assert!(!session.contains(&hex(b"secret-write-token")));
        let t = tokens(None, Some("secret-write-token"));
        let level = |value: &str, t: &Tokens, later: Duration| session_level(value, t, at(later));
        assert_eq!(
            level(&session, &t, SESSION_TTL - Duration::from_secs(1)),
            Some(Level::Write)
        );
        assert_eq!(level(&session, &t, SESSION_TTL), None, "expired");
        assert_eq!(level(&session, &tokens(None, Some("rotated")), Duration::ZERO), None);
        let longer = session.replacen(&(T0 + SESSION_TTL).as_secs().to_string(), "9999999999", 1);
        assert_eq!(
            level(&longer, &t, Duration::ZERO),
            None,
            "an extended expiry breaks the signature"
        );
        let promoted = open_session(Level::Read, "secret-write-token", now).replacen('r', "w", 1);
        assert_eq!(level(&promoted, &t, Duration::ZERO), None, "a level is signed");
    }

    #[test]
    fn after_login_only_paths_of_this_site_are_followed() {
        assert_eq!(safe_next(Some("/alarms?q=1")), "/alarms?q=1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "alarms"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }
}

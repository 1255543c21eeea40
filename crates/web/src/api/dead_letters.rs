//! `GET /v1/dead-letters`: the latest refused input, newest first, with why it was refused,
//! paged backwards by dead-letter sequence.

use super::error::ApiError;
use super::listing::pairs;
use super::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use domain::dead_letter::{DeadLetter, DeadLetterError};
use serde::Serialize;
use usecases::dead_letters::{DeadLetterPage, DEFAULT_PAGE, MAX_PAGE};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest `before` accepted; far beyond any stream's sequence.
const MAX_SEQUENCE: u64 = 1_000_000_000_000_000;

/// The dead-letter route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dead_letters))
}

impl From<DeadLetterError> for ApiError {
    fn from(e: DeadLetterError) -> Self {
        match e {
            DeadLetterError::Unavailable(failure) => ApiError::Unavailable(failure.to_string()),
        }
    }
}

/// The query of `/v1/dead-letters`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeadLetterParams {
    /// Only letters with a sequence below this one: the `older` of the previous page.
    #[param(minimum = 1, maximum = 1_000_000_000_000_000_u64)]
    before: Option<u64>,
    /// Letters per page.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
}

/// One refused message.
#[derive(Serialize, ToSchema)]
#[schema(as = DeadLetter)]
struct LetterView {
    /// Its sequence in the dead-letter stream.
    sequence: u64,
    /// The subject the refused message came on.
    subject: Option<String>,
    /// Why it was refused.
    reason: Option<String>,
    /// When it was dead-lettered (RFC 3339, UTC).
    #[schema(format = DateTime)]
    dead_lettered_at: String,
    /// The payload's size in bytes.
    payload_bytes: usize,
    /// The payload, when it is UTF-8 text.
    payload: Option<String>,
    /// The payload in lower-case hex, when it is not UTF-8.
    payload_hex: Option<String>,
}

impl From<DeadLetter> for LetterView {
    fn from(letter: DeadLetter) -> Self {
        let text = letter.text().map(str::to_string);
        let hex = text
            .is_none()
            .then(|| letter.payload.iter().map(|b| format!("{b:02x}")).collect());
        Self {
            sequence: letter.sequence,
            payload_bytes: letter.payload.len(),
            dead_lettered_at: letter.dead_lettered_at.to_rfc3339(),
            subject: letter.subject,
            reason: letter.reason,
            payload: text,
            payload_hex: hex,
        }
    }
}

/// A page of dead letters.
#[derive(Serialize, ToSchema)]
#[schema(as = DeadLetterPage)]
struct PageView {
    /// Newest first.
    items: Vec<LetterView>,
    /// The `before` of the next, older page; null on the last page.
    older: Option<u64>,
}

impl From<DeadLetterPage> for PageView {
    fn from(page: DeadLetterPage) -> Self {
        Self {
            items: page.letters.into_iter().map(LetterView::from).collect(),
            older: page.older,
        }
    }
}

/// `before` and `limit` from a query string; unknown parameters are refused.
pub fn parse(raw: Option<&str>) -> Result<(Option<u64>, usize), ApiError> {
    let mut before = None;
    let mut limit = DEFAULT_PAGE;
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "before" => match value.parse::<u64>() {
                Ok(b) if (1..=MAX_SEQUENCE).contains(&b) => before = Some(b),
                _ => return Err(ApiError::BadRequest(format!("before: expected 1..={MAX_SEQUENCE}"))),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => limit = n,
                _ => return Err(ApiError::BadRequest(format!("limit: expected 1..={MAX_PAGE}"))),
            },
            other => return Err(ApiError::BadRequest(format!("unknown query parameter {other}"))),
        }
    }
    Ok((before, limit))
}

/// The latest dead letters: input refused for good (malformed, an unknown status, ...),
/// each with the subject it came on, the reason and its payload unchanged. Newest first;
/// `older` is the `before` of the next page.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "dead letters", params(DeadLetterParams),
    responses((status = 200, description = "The latest dead letters", body = PageView)))]
async fn dead_letters(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<PageView>, ApiError> {
    let (before, limit) = parse(query.as_deref())?;
    let page = state.dead_letters.latest(before, limit).await?;
    Ok(Json(PageView::from(page)))
}

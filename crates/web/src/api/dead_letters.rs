//! `GET /v1/dead-letters`: the latest refused input, newest first, with why it was refused,
//! paged backwards by dead-letter sequence.

use crate::error::HttpError;
use crate::params::dead_letters::parse;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use domain::dead_letter::DeadLetter;
use serde::Serialize;
use usecases::dead_letters::DeadLetterPage;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The dead-letter route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dead_letters))
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

/// The latest dead letters: input refused for good (malformed, an unknown status, ...),
/// each with the subject it came on, the reason and its payload unchanged. Newest first;
/// `older` is the `before` of the next page.
#[utoipa::path(get, path = "/v1/dead-letters", tag = "dead letters", params(DeadLetterParams),
    responses((status = 200, description = "The latest dead letters", body = PageView)))]
async fn dead_letters(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Json<PageView>, HttpError> {
    let (before, limit) = parse(query.as_deref())?;
    let page = state.dead_letters.latest(before, limit).await?;
    Ok(Json(PageView::from(page)))
}

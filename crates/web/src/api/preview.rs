//! `GET /v1/users/{user_id}/digest/preview`: the user's next digest as it would be built
//! now, each alarm with the reason it is in; read-only. `GET /v1/users/{user_id}/digests`:
//! the digests sent to the user last.

use super::openapi::{StatusName, UserPath};
use crate::error::HttpError;
use crate::params::user_id;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use domain::ports::SentDigest;
use domain::EventTime;
use serde::Serialize;
use usecases::digests::PreviewedAlarm;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The preview and sent-digests routes, reads.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview))
        .routes(routes!(sent_digests))
}

/// The next digest of a user, as it would be built now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = DigestPreview)]
pub struct PreviewView {
    #[serde(rename = "UserID")]
    user_id: String,
    /// The alarms in digest order: oldest change first, ties by AlarmID.
    alarms: Vec<PreviewedAlarmView>,
}

/// One alarm of a previewed digest.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = PreviewedAlarm)]
struct PreviewedAlarmView {
    #[serde(rename = "AlarmID")]
    alarm_id: String,
    /// The status the digest would report.
    #[schema(value_type = StatusName)]
    status: &'static str,
    /// When that status changed (RFC 3339, nanoseconds); the digest's `LatestChangedAt`.
    latest_changed_at: String,
    /// `NeverDelivered`, `ChangedSinceDelivered` (a status other than the delivered one
    /// was seen since) or `ClearedAndCameBack` (it cleared after the delivered version and
    /// is active again).
    #[schema(value_type = String)]
    reason: &'static str,
    /// The version a digest last delivered; absent when never delivered.
    delivered: Option<DeliveredView>,
    name: Option<String>,
}

/// A delivered version.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = DeliveredVersion)]
struct DeliveredView {
    #[schema(value_type = StatusName)]
    status: &'static str,
    changed_at: String,
}

impl From<&PreviewedAlarm> for PreviewedAlarmView {
    fn from(p: &PreviewedAlarm) -> Self {
        Self {
            alarm_id: p.alarm.alarm_id.as_str().to_string(),
            status: p.alarm.status().as_str(),
            latest_changed_at: p.alarm.changed_at().to_rfc3339(),
            reason: p.reason.as_str(),
            delivered: p.reason.delivered().map(|v| DeliveredView {
                status: v.status.as_str(),
                changed_at: v.changed_at.to_rfc3339(),
            }),
            name: p.name.clone(),
        }
    }
}

/// What the user's next digest would hold now, in order, and why each alarm is in it.
/// Claims and records nothing: a digest sent afterwards holds the same alarms.
#[utoipa::path(get, path = "/v1/users/{user_id}/digest/preview", tag = "alarms", params(UserPath),
    responses((status = 200, description = "The previewed digest", body = PreviewView)))]
async fn preview(State(state): State<AppState>, Path(user): Path<String>) -> Result<Json<PreviewView>, HttpError> {
    let user = user_id(&user)?;
    let alarms = state.digests.preview(&user).await?;
    Ok(Json(PreviewView {
        user_id: user.as_str().to_string(),
        alarms: alarms.iter().map(PreviewedAlarmView::from).collect(),
    }))
}

/// A digest sent to the user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = SentDigest)]
pub struct SentDigestView {
    /// The id it was published under (its `Nats-Msg-Id`).
    #[serde(rename = "DigestID")]
    digest_id: String,
    /// When it was recorded as sent (RFC 3339).
    recorded_at: String,
    /// How many alarms it carried.
    alarms: usize,
}

impl From<&SentDigest> for SentDigestView {
    fn from(d: &SentDigest) -> Self {
        Self {
            digest_id: d.id.clone(),
            recorded_at: EventTime::from_nanos(d.recorded_ms.saturating_mul(1_000_000)).to_rfc3339(),
            alarms: d.alarms,
        }
    }
}

/// The digests sent to the user last, newest first (at most 10 are kept); empty before
/// the first.
#[utoipa::path(get, path = "/v1/users/{user_id}/digests", tag = "alarms", params(UserPath),
    responses((status = 200, description = "The latest digests sent", body = Vec<SentDigestView>)))]
async fn sent_digests(
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> Result<Json<Vec<SentDigestView>>, HttpError> {
    let user = user_id(&user)?;
    let sent = state.digests.sent_digests(&user).await?;
    Ok(Json(sent.iter().map(SentDigestView::from).collect()))
}

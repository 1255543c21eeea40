//! Escalation policies of monitored services: `PUT`, `GET` and `DELETE`
//! `/v1/services/{service_id}/escalation-policy`, validated by the domain.

use super::body::{json_bytes, parse};
use super::error::ApiError;
use super::openapi::Identifier;
use super::AppState;
use crate::domain::pager::{EscalationPolicy, LastLevelTimeout, Target};
use crate::domain::ServiceId;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The read route of policies.
pub fn read_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_policy))
}

/// The write routes of policies.
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_policy, delete_policy))
}

/// A path naming a monitored service.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ServicePath {
    /// The ServiceID.
    #[param(value_type = Identifier)]
    service_id: String,
}

/// A service id from a path.
pub fn service_id(value: &str) -> Result<ServiceId, ApiError> {
    ServiceId::parse(value).map_err(|e| ApiError::BadRequest(format!("service_id: {e}")))
}

/// Someone to notify.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[schema(as = Target)]
pub enum TargetView {
    /// An e-mail address.
    Email {
        /// Like `a@example.com`.
        address: String,
    },
    /// A phone number for text messages.
    Sms {
        /// E.164, like `+33600000000`.
        phone: String,
    },
}

/// Everyone notified together.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Level)]
pub struct LevelView {
    /// 1 to 50 distinct targets.
    targets: Vec<TargetView>,
}

/// What a timeout of the last level does.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum LastLevelView {
    /// Notify nobody more (the default).
    #[default]
    Stop,
    /// Notify the last level again, until acknowledged.
    Repeat,
}

/// An escalation policy: 1 to 20 levels, notified one after the other while nobody
/// acknowledges.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EscalationPolicy)]
pub struct PolicyView {
    /// The levels, first notified first.
    levels: Vec<LevelView>,
    /// What a timeout of the last level does.
    #[serde(default)]
    last_level_timeout: LastLevelView,
}

impl PolicyView {
    fn into_policy(self, service: ServiceId) -> Result<EscalationPolicy, ApiError> {
        let invalid = |e: crate::domain::pager::PolicyError| ApiError::Unprocessable(e.to_string());
        let levels = self
            .levels
            .into_iter()
            .map(|l| {
                l.targets
                    .into_iter()
                    .map(|t| match t {
                        TargetView::Email { address } => Target::email(&address),
                        TargetView::Sms { phone } => Target::sms(&phone),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let last = match self.last_level_timeout {
            LastLevelView::Stop => LastLevelTimeout::Stop,
            LastLevelView::Repeat => LastLevelTimeout::Repeat,
        };
        EscalationPolicy::new(service, levels, last).map_err(invalid)
    }
}

impl From<&EscalationPolicy> for PolicyView {
    fn from(p: &EscalationPolicy) -> Self {
        Self {
            levels: p
                .levels()
                .iter()
                .map(|l| LevelView {
                    targets: l
                        .targets()
                        .iter()
                        .map(|t| match t {
                            Target::Email(address) => TargetView::Email {
                                address: address.clone(),
                            },
                            Target::Sms(phone) => TargetView::Sms { phone: phone.clone() },
                        })
                        .collect(),
                })
                .collect(),
            last_level_timeout: match p.last_level_timeout() {
                LastLevelTimeout::Stop => LastLevelView::Stop,
                LastLevelTimeout::Repeat => LastLevelView::Repeat,
            },
        }
    }
}

/// Creates or replaces the service's escalation policy: 201 created, 200 replaced, 422 when
/// a level is empty, a target repeated, an address or a phone number invalid.
#[utoipa::path(put, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    request_body(content = PolicyView, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = PolicyView),
        (status = 200, description = "Replaced", body = PolicyView),
        (status = 413, description = "The body exceeds the limit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid policy", body = super::error::Problem, content_type = "application/problem+json"),
    ))]
async fn put_policy(
    State(state): State<AppState>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let service = service_id(&service)?;
    let view: PolicyView = parse(&json_bytes(&headers, body)?)?;
    let policy = view.into_policy(service)?;
    let created = state.pager.policies().put_policy(&policy).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PolicyView::from(&policy))))
}

/// The service's escalation policy, or 404.
#[utoipa::path(get, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    responses((status = 200, description = "The policy", body = PolicyView)))]
async fn get_policy(State(state): State<AppState>, Path(service): Path<String>) -> Result<Json<PolicyView>, ApiError> {
    let service = service_id(&service)?;
    let policy = state
        .pager
        .policies()
        .policy(&service)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no escalation policy for service {service}")))?;
    Ok(Json(PolicyView::from(&policy)))
}

/// Deletes the service's escalation policy: 204, or 404 when it had none. Its open
/// incident, if any, notifies nobody more.
#[utoipa::path(delete, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    responses((status = 204, description = "Deleted")))]
async fn delete_policy(State(state): State<AppState>, Path(service): Path<String>) -> Result<StatusCode, ApiError> {
    let service = service_id(&service)?;
    if state.pager.policies().delete_policy(&service).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no escalation policy for service {service}"
        )))
    }
}

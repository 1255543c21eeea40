//! Escalation policies of monitored services: `PUT`, `GET` and `DELETE`
//! `/v1/services/{service_id}/escalation-policy`, validated by the domain.

use super::body::{json_bytes, parse};
use super::openapi::Identifier;
use crate::error::HttpError;
use crate::params::service_id;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use domain::pager::policy::MAX_EMAIL_CHARS;
use domain::pager::{Channel, EscalationPolicy, LastLevelTimeout, LevelSpec, Target};
use domain::ServiceId;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::openapi::schema::{AdditionalProperties, Array, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
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

/// Someone to notify; its schema is [`target_schema`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
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

/// The rules of `Target::email` as a pattern.
const EMAIL_PATTERN: &str =
    r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9-]*)+$";
/// The rules of `Target::sms` as a pattern.
const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{7,14}$";

/// A target as documented: written by hand because each variant refuses any other field,
/// which the derived schema of a tagged enum does not say.
fn target_schema() -> Schema {
    let variant = |kind: &str, field: &str, description: &str, rule: ObjectBuilder| {
        let tag = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([kind]));
        ObjectBuilder::new()
            .description(Some(description))
            .property("type", tag)
            .property(field, rule)
            .required("type")
            .required(field)
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
    };
    let address = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_EMAIL_CHARS))
        .pattern(Some(EMAIL_PATTERN));
    let phone = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(PHONE_PATTERN));
    OneOfBuilder::new()
        .item(variant(
            "email",
            "address",
            "An e-mail address, like a@example.com",
            address,
        ))
        .item(variant(
            "sms",
            "phone",
            "A phone number in E.164 form, like +33600000000",
            phone,
        ))
        .description(Some("Someone to notify"))
        .into()
}

/// Everyone notified together.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Level)]
pub struct LevelView {
    /// 1 to 50 distinct targets.
    #[schema(schema_with = targets_schema)]
    targets: Vec<TargetView>,
    /// How long this level has to acknowledge before the next is notified, 1 to 604800
    /// seconds; absent: the pager's ACK_TIMEOUT.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_seconds")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 604800)]
    timeout_seconds: Option<u64>,
}

/// A whole number of seconds, also when written `90.0` (JSON Schema's integers include
/// numbers with a zero fraction); the domain checks the bounds.
fn whole_seconds<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_u64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(format!(
            "timeout_seconds: expected a whole number of seconds, got {number}"
        ))),
    }
}

/// The targets of a level: 1 to 50, no two alike.
fn targets_schema() -> Array {
    ArrayBuilder::new()
        .items(RefOr::T(target_schema()))
        .min_items(Some(1))
        .max_items(Some(domain::pager::policy::MAX_TARGETS_PER_LEVEL))
        .unique_items(true)
        .description(Some("1 to 50 distinct targets"))
        .build()
}

/// What a timeout of the last level does.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
#[schema(as = LastLevelTimeout)]
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
    #[schema(min_items = 1, max_items = 20)]
    levels: Vec<LevelView>,
    /// What a timeout of the last level does.
    #[serde(default)]
    last_level_timeout: LastLevelView,
}

impl PolicyView {
    fn into_policy(self, service: ServiceId) -> Result<EscalationPolicy, HttpError> {
        let levels = self
            .levels
            .into_iter()
            .map(|l| LevelSpec {
                targets: l
                    .targets
                    .into_iter()
                    .map(|t| match t {
                        TargetView::Email { address } => (Channel::Email, address),
                        TargetView::Sms { phone } => (Channel::Sms, phone),
                    })
                    .collect(),
                timeout: l.timeout_seconds.map(Duration::from_secs),
            })
            .collect();
        let last = match self.last_level_timeout {
            LastLevelView::Stop => LastLevelTimeout::Stop,
            LastLevelView::Repeat => LastLevelTimeout::Repeat,
        };
        EscalationPolicy::parse(service, levels, last).map_err(|e| HttpError::Unprocessable(e.to_string()))
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
                    timeout_seconds: l.timeout().map(|t| t.as_secs()),
                })
                .collect(),
            last_level_timeout: match p.last_level_timeout() {
                LastLevelTimeout::Stop => LastLevelView::Stop,
                LastLevelTimeout::Repeat => LastLevelView::Repeat,
            },
        }
    }
}

/// Refuses levels and targets written as arrays: a derived struct or tagged enum would
/// also accept an array of its field values, which no client means to send.
fn levels_and_targets_are_objects(bytes: &[u8]) -> Result<(), HttpError> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    let levels = body.get("levels").and_then(serde_json::Value::as_array);
    for (i, level) in levels.into_iter().flatten().enumerate() {
        if !level.is_object() {
            return Err(HttpError::Unprocessable(format!("levels/{i}: must be an object")));
        }
        let targets = level.get("targets").and_then(serde_json::Value::as_array);
        if let Some(j) = targets.into_iter().flatten().position(|t| !t.is_object()) {
            return Err(HttpError::Unprocessable(format!(
                "levels/{i}/targets/{j}: must be an object"
            )));
        }
    }
    Ok(())
}

/// Creates or replaces the service's escalation policy: 201 created, 200 replaced, 422 when
/// a level is empty, a target repeated, an address or a phone number invalid.
#[utoipa::path(put, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    request_body(content = PolicyView, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = PolicyView),
        (status = 200, description = "Replaced", body = PolicyView),
        (status = 413, description = "The body exceeds the limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid policy", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
async fn put_policy(
    State(state): State<AppState>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PolicyView>), HttpError> {
    let service = service_id(&service)?;
    let bytes = json_bytes(&headers, body)?;
    let view: PolicyView = parse(&bytes, &[""])?;
    levels_and_targets_are_objects(&bytes)?;
    let policy = view.into_policy(service)?;
    let created = state.pager.put_policy(&policy).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PolicyView::from(&policy))))
}

/// The service's escalation policy, or 404.
#[utoipa::path(get, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    responses((status = 200, description = "The policy", body = PolicyView)))]
async fn get_policy(State(state): State<AppState>, Path(service): Path<String>) -> Result<Json<PolicyView>, HttpError> {
    let service = service_id(&service)?;
    let policy = state
        .pager
        .policy(&service)
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("no escalation policy for service {service}")))?;
    Ok(Json(PolicyView::from(&policy)))
}

/// Deletes the service's escalation policy: 204, or 404 when it had none. Its open
/// incident, if any, notifies nobody more.
#[utoipa::path(delete, path = "/v1/services/{service_id}/escalation-policy", tag = "pager", params(ServicePath),
    responses((status = 204, description = "Deleted")))]
async fn delete_policy(State(state): State<AppState>, Path(service): Path<String>) -> Result<StatusCode, HttpError> {
    let service = service_id(&service)?;
    if state.pager.delete_policy(&service).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::NotFound(format!(
            "no escalation policy for service {service}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_policy_schema_states_the_rules_the_domain_checks() {
        let schema = serde_json::to_value(PolicyView::schema()).unwrap();
        let levels = &schema["properties"]["levels"];
        assert_eq!(
            (levels["minItems"].as_u64(), levels["maxItems"].as_u64()),
            (Some(1), Some(20))
        );
        assert_eq!(schema["additionalProperties"], false);
        let level = serde_json::to_value(LevelView::schema()).unwrap();
        let targets = &level["properties"]["targets"];
        assert_eq!(
            (targets["minItems"].as_u64(), targets["maxItems"].as_u64()),
            (Some(1), Some(50))
        );
        assert_eq!(targets["uniqueItems"], true);
        assert_eq!(level["additionalProperties"], false);
        let variants = targets["items"]["oneOf"].as_array().unwrap();
        assert!(variants.iter().all(|v| v["additionalProperties"] == false));
        let extra = r#"{"type":"email","address":"a@example.com","x":1}"#;
        assert!(
            serde_json::from_str::<TargetView>(extra).is_err(),
            "refused, as documented"
        );
    }
}

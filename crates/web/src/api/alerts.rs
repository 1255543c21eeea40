//! `POST /v1/intake/alertmanager` and `POST /v1/intake/grafana`: the webhooks of
//! Alertmanager and of Grafana Alerting, each alert mapped by `wire::alerts` and applied by
//! the same use case as `/v1/events`.
//!
//! The answers follow what the senders do with them: both retry on 5xx and give up on 4xx.
//! So a payload that can never be taken (not JSON, another version, no alert with a
//! recipient) is a 4xx, a store that cannot commit is a 503 (the sender retries, nothing is
//! lost), and otherwise each alert is reported on its own, one bad alert never dropping the
//! valid ones beside it.

use super::body::{json_bytes, parse};
use super::events::{apply_each, Submitted};
use super::openapi::Identifier;
use crate::error::HttpError;
use crate::params::{pairs, user_id};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::alerts::{map_alerts, AlertSource};

/// The two webhook routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(alertmanager))
        .routes(routes!(grafana))
}

/// The query of both webhooks: who gets the digest.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct Recipient {
    /// The UserID every alert of the payload is for (one receiver URL per team, as
    /// Alertmanager's routing tree picks a team). Without it, each alert's recipient label
    /// (`ALERT_RECIPIENT_LABEL`, default `team`) names it.
    #[param(value_type = Option<Identifier>)]
    user: Option<String>,
}

/// Alertmanager's webhook payload: what this service reads of it. Every other field
/// (`receiver`, `status`, `groupKey`, `groupLabels`, `commonLabels`, `externalURL`, ...) is
/// ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = AlertmanagerWebhook)]
#[allow(dead_code)]
struct AlertmanagerPayload {
    version: AlertmanagerVersion,
    /// The alerts of the notification's group, firing and resolved: each an object with
    /// `status` (`firing` or `resolved`), `labels`, `annotations`, `startsAt` and `endsAt`
    /// (RFC 3339). Each is taken or rejected on its own, so an item may be anything here.
    alerts: Vec<Value>,
}

/// The only Alertmanager webhook version there is.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
enum AlertmanagerVersion {
    #[serde(rename = "4")]
    Four,
}

/// Grafana Alerting's webhook contact point payload: what this service reads of it. Every
/// other field (`orgId`, `state`, `title`, `message`, `groupLabels`, ...) is ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = GrafanaWebhook)]
#[allow(dead_code)]
struct GrafanaPayload {
    version: GrafanaVersion,
    /// The alerts of the notification, as Alertmanager's (`endsAt` is
    /// `0001-01-01T00:00:00Z` while an alert fires). Each is taken or rejected on its own,
    /// so an item may be anything here.
    alerts: Vec<Value>,
}

/// The Grafana webhook version this service reads.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
enum GrafanaVersion {
    #[serde(rename = "1")]
    One,
}

/// Takes an Alertmanager webhook notification (`webhook_configs` with `send_resolved:
/// true`): each alert becomes a status change of its alarm, applied as `/v1/events` applies
/// one. 202 with each alert's outcome; a re-sent alert is a duplicate.
#[utoipa::path(post, path = "/v1/intake/alertmanager", tag = "intake", params(Recipient),
    request_body(content = AlertmanagerPayload, content_type = "application/json"),
    responses((status = 202, description = "Each alert's outcome, in order", body = Submitted)))]
async fn alertmanager(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), HttpError> {
    intake(&state, AlertSource::Alertmanager, query, &headers, body).await
}

/// Takes a notification of Grafana Alerting's webhook contact point: each alert becomes a
/// status change of its alarm, mapped as Alertmanager's are, under the `grafana:` prefix.
/// 202 with each alert's outcome; a re-sent alert is a duplicate.
#[utoipa::path(post, path = "/v1/intake/grafana", tag = "intake", params(Recipient),
    request_body(content = GrafanaPayload, content_type = "application/json"),
    responses((status = 202, description = "Each alert's outcome, in order", body = Submitted)))]
async fn grafana(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), HttpError> {
    intake(&state, AlertSource::Grafana, query, &headers, body).await
}

/// Both webhooks: the recipient from the query, the payload mapped, the alerts applied.
async fn intake(
    state: &AppState,
    source: AlertSource,
    query: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), HttpError> {
    let user = recipient(query.as_deref())?;
    let body = json_bytes(headers, body)?;
    // Syntax first (400), then the payload's shape (422).
    parse::<Value>(&body, &[""])?;
    let mapped = map_alerts(source, &body, &state.alerts, user.as_deref())
        .map_err(|e| HttpError::Unprocessable(e.to_string()))?;
    let parsed: Vec<_> = mapped.into_iter().map(|m| m.map_err(|e| e.to_string())).collect();
    let answer = apply_each(state, parsed, false).await?;
    let refused: Vec<String> = answer
        .items
        .iter()
        .filter_map(|item| Some(format!("alert {}: {}", item.index, item.reason.as_deref()?)))
        .collect();
    for reason in &refused {
        tracing::warn!(source = ?source, reason, "an alert was rejected");
    }
    if !answer.items.is_empty() && refused.len() == answer.items.len() {
        // Nothing of the payload can ever be taken: a 4xx, so the sender stops retrying.
        return Err(HttpError::Unprocessable(format!(
            "no alert could be taken: {}",
            refused.join("; ")
        )));
    }
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// The `user` of the receiver URL, checked; any other parameter is refused, so a mistyped
/// URL is found when the receiver is first tried rather than when alerts go unseen.
fn recipient(query: Option<&str>) -> Result<Option<String>, HttpError> {
    let mut user = None;
    for (name, value) in pairs(query)? {
        match name.as_str() {
            "user" if user.is_none() => user = Some(user_id(&value)?.as_str().to_string()),
            "user" => return Err(HttpError::BadRequest("user: given more than once".into())),
            other => {
                return Err(HttpError::BadRequest(format!(
                    "unknown query parameter {other:?}; the only one is user"
                )))
            }
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipient_comes_from_one_user_parameter_and_nothing_else() {
        assert_eq!(recipient(None).unwrap(), None);
        assert_eq!(
            recipient(Some("user=team-storage")).unwrap().as_deref(),
            Some("team-storage")
        );
        assert_eq!(recipient(Some("user=team%20a")).unwrap().as_deref(), Some("team a"));
        for bad in ["user=", "user=a&user=b", "users=a", "user=%01"] {
            assert!(matches!(recipient(Some(bad)), Err(HttpError::BadRequest(_))), "{bad}");
        }
    }
}

//! The NATS services API (ADR-32): every replica registers as `alarm-digest`, so `nats
//! micro ls|info|stats alarm-digest` list it with its per-endpoint counts, and answers
//! three request/reply endpoints in the framework's queue group (one replica answers
//! each request): the digest preview of a user, one alarm, and "send this user's digest
//! now", the same use case as `SendAlarmDigest`. A bad request is answered with the
//! `Nats-Service-Error` and `Nats-Service-Error-Code` headers.

use async_nats::service::error::Error as ServiceError;
use async_nats::service::{Request, ServiceExt};
use async_nats::Client;
use bytes::Bytes;
use domain::failure::Chain;
use domain::ports::{AlarmRecord, StoreError};
use domain::{AlarmId, DueAlarm, Reason, UserId};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use usecases::digests::{DigestError, Digests};
use usecases::queries::AlarmQueries;

/// The service's name in the framework, shared by every replica.
pub const SERVICE_NAME: &str = "alarm-digest";

/// The use cases the endpoints answer with.
#[derive(Clone)]
pub struct ServiceCases {
    /// Previews and sends digests.
    pub digests: Arc<Digests>,
    /// Reads one alarm.
    pub queries: Arc<AlarmQueries>,
}

/// Where and as whom the service registers.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// The endpoints' subject prefix: `<prefix>.preview`, `<prefix>.alarm`, `<prefix>.send`.
    pub prefix: String,
    /// The version registered (the crate's).
    pub version: String,
    /// This replica's name, in the service's metadata.
    pub replica: String,
}

/// The three endpoints, by name.
const ENDPOINTS: [&str; 3] = ["preview", "alarm", "send"];

/// Registers the service and answers requests until `stop`, then stops the service (its
/// subscriptions drain with the connection).
pub async fn run(
    client: Client,
    cases: ServiceCases,
    settings: ServiceSettings,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let service = client
        .service_builder()
        .description("Alarm digests: previews, alarms, and digests sent on request")
        .metadata(HashMap::from([("replica".to_string(), settings.replica.clone())]))
        .start(SERVICE_NAME, &settings.version)
        .await
        .map_err(|e| anyhow::anyhow!("registering the NATS service: {e}"))?;
    let group = service.group(&settings.prefix);
    let mut streams = Vec::with_capacity(ENDPOINTS.len());
    for name in ENDPOINTS {
        let endpoint = group
            .endpoint(name)
            .await
            .map_err(|e| anyhow::anyhow!("adding the NATS service endpoint {name}: {e}"))?;
        streams.push(endpoint.map(move |request| (name, request)));
    }
    tracing::info!(prefix = %settings.prefix, "answering the NATS service endpoints");
    let mut requests = futures::stream::select_all(streams);
    loop {
        let (endpoint, request) = tokio::select! {
            _ = stop.cancelled() => break,
            next = requests.next() => match next {
                Some(next) => next,
                None => break,
            },
        };
        let answer = answer(&cases, endpoint, &request).await;
        if let Err(e) = request.respond(answer).await {
            tracing::warn!(endpoint, error = %Chain(&e), "could not answer a NATS service request");
        }
    }
    service
        .stop()
        .await
        .map_err(|e| anyhow::anyhow!("stopping the NATS service: {e}"))
}

/// The answer to one request of `endpoint`: a JSON body, or a service error.
async fn answer(cases: &ServiceCases, endpoint: &str, request: &Request) -> Result<Bytes, ServiceError> {
    let payload = &request.message.payload;
    let body = match endpoint {
        "preview" => {
            let user = user_of(payload)?;
            let alarms = cases.digests.preview(&user).await.map_err(store_error)?;
            serde_json::to_vec(&PreviewAnswer {
                user_id: user.as_str(),
                alarms: alarms
                    .iter()
                    .map(|a| AlarmLine::of(&a.alarm, Some(a.reason.as_str())))
                    .collect(),
            })
        }
        "alarm" => {
            let (user, alarm) = alarm_of(payload)?;
            let record = cases.queries.alarm(&user, &alarm).await.map_err(store_error)?;
            let record = record.ok_or_else(|| error(404, format!("no alarm {alarm} of user {user}")))?;
            serde_json::to_vec(&AlarmAnswer::of(&record))
        }
        "send" => {
            let user = user_of(payload)?;
            // A client that retries under the same Nats-Msg-Id is answered once.
            let request_id = request
                .message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|id| format!("nats-service:{id}"));
            match cases.digests.send_digest(&user, request_id.as_deref()).await {
                Ok(Some(sent)) => serde_json::to_vec(&SentAnswer {
                    digest_id: Some(sent.id.as_str()),
                    user_id: user.as_str(),
                    already_answered: false,
                    active_alarms: sent.digest.alarms.iter().map(|a| AlarmLine::of(a, None)).collect(),
                }),
                Ok(None) => serde_json::to_vec(&SentAnswer {
                    digest_id: None,
                    user_id: user.as_str(),
                    already_answered: true,
                    active_alarms: Vec::new(),
                }),
                Err(e) => return Err(digest_error(&e)),
            }
        }
        other => return Err(error(404, format!("no endpoint {other}"))),
    };
    body.map(Bytes::from)
        .map_err(|e| error(500, format!("encoding the answer: {e}")))
}

/// A service error with `code` and `status`.
fn error(code: usize, status: impl Into<String>) -> ServiceError {
    ServiceError {
        code,
        status: status.into(),
    }
}

fn store_error(e: StoreError) -> ServiceError {
    let code = if e.is_transient() { 503 } else { 500 };
    tracing::warn!(error = %Chain(&e), "a NATS service request failed in the store");
    error(code, e.to_string())
}

fn digest_error(e: &DigestError) -> ServiceError {
    let code = if e.is_transient() { 503 } else { 500 };
    tracing::warn!(error = %Chain(e), "a NATS service digest request failed");
    error(code, e.to_string())
}

/// `{"UserID": "..."}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserRequest {
    #[serde(rename = "UserID")]
    user_id: String,
}

/// `{"UserID": "...", "AlarmID": "..."}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AlarmRequest {
    #[serde(rename = "UserID")]
    user_id: String,
    #[serde(rename = "AlarmID")]
    alarm_id: String,
}

fn user_of(payload: &[u8]) -> Result<UserId, ServiceError> {
    let request: UserRequest =
        serde_json::from_slice(payload).map_err(|e| error(400, format!("expected {{\"UserID\": \"...\"}}: {e}")))?;
    UserId::parse(request.user_id).map_err(|e| error(400, format!("UserID {e}")))
}

fn alarm_of(payload: &[u8]) -> Result<(UserId, AlarmId), ServiceError> {
    let request: AlarmRequest = serde_json::from_slice(payload).map_err(|e| {
        error(
            400,
            format!("expected {{\"UserID\": \"...\", \"AlarmID\": \"...\"}}: {e}"),
        )
    })?;
    let user = UserId::parse(request.user_id).map_err(|e| error(400, format!("UserID {e}")))?;
    let alarm = AlarmId::parse(request.alarm_id).map_err(|e| error(400, format!("AlarmID {e}")))?;
    Ok((user, alarm))
}

/// One alarm of a digest or a preview, as the AlarmDigest message lists it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AlarmLine<'a> {
    #[serde(rename = "AlarmID")]
    alarm_id: &'a str,
    status: &'static str,
    latest_changed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

impl<'a> AlarmLine<'a> {
    fn of(alarm: &'a DueAlarm, reason: Option<&'static str>) -> Self {
        Self {
            alarm_id: alarm.alarm_id.as_str(),
            status: alarm.status().as_str(),
            latest_changed_at: alarm.changed_at().to_rfc3339(),
            reason,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PreviewAnswer<'a> {
    #[serde(rename = "UserID")]
    user_id: &'a str,
    alarms: Vec<AlarmLine<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SentAnswer<'a> {
    #[serde(rename = "DigestID")]
    digest_id: Option<&'a str>,
    #[serde(rename = "UserID")]
    user_id: &'a str,
    /// The request (by its `Nats-Msg-Id`) was answered before: nothing was sent again.
    already_answered: bool,
    active_alarms: Vec<AlarmLine<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AlarmAnswer<'a> {
    #[serde(rename = "UserID")]
    user_id: &'a str,
    #[serde(rename = "AlarmID")]
    alarm_id: &'a str,
    status: Option<&'static str>,
    changed_at: Option<String>,
    due: bool,
    reason: Option<&'static str>,
    name: Option<&'a str>,
    service: Option<&'a str>,
}

impl<'a> AlarmAnswer<'a> {
    fn of(record: &'a AlarmRecord) -> Self {
        let latest = record.state.latest();
        Self {
            user_id: record.user_id.as_str(),
            alarm_id: record.alarm_id.as_str(),
            status: latest.map(|v| v.status.as_str()),
            changed_at: latest.map(|v| v.changed_at.to_rfc3339()),
            due: record.state.is_due(),
            reason: Reason::of(&record.state).map(|r| r.as_str()),
            name: record.metadata.name.as_deref(),
            service: record.metadata.service.as_deref(),
        }
    }
}

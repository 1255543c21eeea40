//! The OpenAPI 3 document: generated from the handlers' annotations and the routes they are
//! registered on, plus the parameters, problems and security the handlers share.

use crate::error::PROBLEM_JSON;
use domain::ids::MAX_ID_CHARS;
use serde::Deserialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HttpMethod, OpenApi, Ref, RefOr};
use utoipa::{IntoParams, Modify, ToSchema};

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "alarm-digest",
        description = "Alarms, their history and response statistics; status changes and acknowledgements over HTTP.",
    ),
    tags(
        (name = "alarms", description = "Alarms and their retained history"),
        (name = "stats", description = "Response statistics over alarm episodes"),
        (name = "dead letters", description = "Input refused for good, with the reasons"),
        (name = "intake", description = "Status changes and acknowledgements"),
        (name = "pager", description = "Escalation policies, maintenance windows, service health and the console's pager actions"),
        (name = "schedules", description = "Each user's digest schedule, in their time zone"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    components(schemas(crate::error::Problem, Identifier))
)]
pub struct ApiDoc;

/// A UserID or AlarmID: 1 to 256 characters, not all white space, no control characters
/// (the rules of `domain::ids`).
pub struct Identifier;

impl utoipa::PartialSchema for Identifier {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_ID_CHARS))
            .pattern(Some(IDENTIFIER_PATTERN))
            .description(Some("1 to 256 characters, not all white space, no control characters"))
            .into()
    }
}

impl ToSchema for Identifier {}

/// An instant: RFC 3339 with up to nine fractional digits, between 1678 and 2261 (the
/// 64-bit nanosecond range, whole years). The pattern keeps days to 28 so that everything
/// it admits is a real date; the server accepts every valid date of the range.
pub struct Timestamp;

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .pattern(Some(TIMESTAMP_PATTERN))
            .description(Some("RFC 3339, up to nanoseconds, years 1678 to 2261"))
            .into()
    }
}

impl ToSchema for Timestamp {}

const TIMESTAMP_PATTERN: &str = concat!(
    r"^(16(7[89]|[89]\d)|1[7-9]\d\d|2[01]\d\d|22[0-5]\d|226[01])",
    r"-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])",
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?",
    r"(Z|[+-](0\d|1[0-3]):[0-5]\d)$",
);

/// [`Identifier`]'s rules as a regular expression: no C0 or C1 control character, and at
/// least one character that is not white space.
const IDENTIFIER_PATTERN: &str =
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// The three statuses of the wire, for the schemas of fields that hold one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schema(as = Status)]
#[allow(dead_code)]
pub enum StatusName {
    /// Not active.
    Cleared,
    /// Active.
    Warning,
    /// Active.
    Critical,
}

/// Where an alarm stands in its current episode (what followed its latest CLEARED).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Lifecycle)]
#[allow(dead_code)]
pub enum LifecycleName {
    /// Active, not acknowledged since its latest CLEARED.
    Triggered,
    /// Active, acknowledged since its latest CLEARED.
    Acknowledged,
    /// CLEARED.
    Resolved,
}

/// An `AlarmStatusChanged`, exactly as on NATS; unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = AlarmStatusChanged)]
#[allow(dead_code)]
pub struct StatusChange {
    /// Who the alarm is for.
    #[serde(rename = "UserID")]
    #[schema(value_type = Identifier)]
    user_id: String,
    /// The alarm, unique per user.
    #[serde(rename = "AlarmID")]
    #[schema(value_type = Identifier)]
    alarm_id: String,
    /// The new status.
    #[serde(rename = "Status")]
    status: StatusName,
    /// When the status changed (RFC 3339, up to nanoseconds), between 1677-09-21 and
    /// 2262-04-11 UTC (nanoseconds since 1970 in 64 bits).
    #[serde(rename = "ChangedAt")]
    #[schema(value_type = Timestamp)]
    changed_at: String,
    /// The alarm's name, kept as metadata (empty means none).
    #[serde(rename = "Name")]
    #[schema(max_length = 1024)]
    name: Option<String>,
    /// The monitored service, kept as metadata.
    #[serde(rename = "Service")]
    #[schema(max_length = 1024)]
    service: Option<String>,
    /// The user's display name, kept as metadata.
    #[serde(rename = "UserName")]
    #[schema(max_length = 1024)]
    user_name: Option<String>,
}

/// A sort direction.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// The user filter of `/v1/alarms` (the per-user listing takes the user from its path).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserFilter {
    /// Only this user's alarms.
    #[param(value_type = Option<Identifier>)]
    user_id: Option<String>,
}

/// The query of the alarm listings, as documented; `params::listing::listing` parses it and refuses
/// any other parameter.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListingParams {
    /// Only alarms whose latest status is one of these; repeat the parameter for several.
    #[param(explode, style = Form, inline)]
    status: Option<Vec<StatusName>>,
    /// Only active (WARNING, CRITICAL) or inactive (CLEARED) alarms.
    active: Option<bool>,
    /// Only alarms in one of these lifecycles: `triggered` (active, not acknowledged since
    /// its latest CLEARED), `acknowledged` (active, acknowledged since), `resolved`
    /// (CLEARED). Repeat the parameter for several.
    #[param(explode, style = Form, inline)]
    lifecycle: Option<Vec<LifecycleName>>,
    /// Exact alarm name.
    name: Option<String>,
    /// Exact service: an alarm whose `Service` or `ServiceName` is this (an Allma alert is
    /// found by its `serviceId` and by its service's name).
    service: Option<String>,
    /// Exact user name.
    user_name: Option<String>,
    /// Substring of the name, service or user name.
    q: Option<String>,
    /// Only alarms whose latest change is after this instant (RFC 3339).
    #[param(value_type = Option<Timestamp>)]
    changed_after: Option<String>,
    /// Only alarms whose latest change is before this instant (RFC 3339).
    #[param(value_type = Option<Timestamp>)]
    changed_before: Option<String>,
    /// Items per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; only cursors the API issued are accepted.
    #[param(pattern = "^([0-9a-f]{2})+$")]
    cursor: Option<String>,
    /// Sort direction (default asc).
    #[param(inline)]
    order: Option<Order>,
}

/// The query of `/v1/stats`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StatsParams {
    /// Only this user's alarms.
    #[param(value_type = Option<Identifier>)]
    user_id: Option<String>,
    /// Only alarms of this service: its `Service` or its `ServiceName` (an Allma alert's
    /// `serviceId` or its service's name).
    service: Option<String>,
    /// The window's start, inclusive (RFC 3339): counts take the alarms whose latest change
    /// is at or after it, response times the episodes that started at or after it.
    #[param(value_type = Option<Timestamp>)]
    since: Option<String>,
    /// The window's end, exclusive (RFC 3339): counts take the alarms whose latest change
    /// is before it, response times the episodes that started before it.
    #[param(value_type = Option<Timestamp>)]
    until: Option<String>,
}

/// A path naming a user.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct UserPath {
    /// The UserID.
    #[param(value_type = Identifier)]
    user_id: String,
}

/// A path naming one alarm of a user.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct AlarmPath {
    /// The UserID.
    #[param(value_type = Identifier)]
    user_id: String,
    /// The AlarmID.
    #[param(value_type = Identifier)]
    alarm_id: String,
}

/// Adds what every operation shares: the problem responses its handler and the layers around
/// it can give, and the bearer-token requirement.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        resolved_alerts_need_their_resolution_time(components);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    conventions(path, method, operation);
                }
            }
        }
    }
}

/// A RESOLVED Allma alert must say when (`if`/`then`, which the derive cannot express).
fn resolved_alerts_need_their_resolution_time(components: &mut utoipa::openapi::Components) {
    if let Some(RefOr::T(Schema::Object(alert))) = components.schemas.get_mut("AllmaAlert") {
        let rule = alert.extensions.get_or_insert_with(Default::default);
        rule.insert(
            "if".into(),
            serde_json::json!({"properties": {"status": {"const": "RESOLVED"}}, "required": ["status"]}),
        );
        rule.insert(
            "then".into(),
            serde_json::json!({"properties": {"resolvedOn": {"type": "string"}}, "required": ["resolvedOn"]}),
        );
    }
}

/// The problems one operation can answer with, by what it takes.
fn conventions(path: &str, method: HttpMethod, operation: &mut Operation) {
    if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
        return;
    }
    let mut problems = vec![
        (400, "Malformed parameter, path or body"),
        (401, "A bearer token is configured and was not presented"),
        (500, "Unexpected failure; the detail is logged"),
        (503, "The store is unavailable, or the request timed out"),
    ];
    if path.contains('{') {
        problems.push((404, "No such resource"));
    }
    if matches!(method, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch) {
        problems.push((413, "The body exceeds the limit"));
        problems.push((415, "The body is not application/json"));
        problems.push((422, "Well-formed JSON that is not a valid request"));
    }
    for (status, description) in problems {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| response.into());
    }
    operation.security.get_or_insert_with(Vec::new).extend([
        SecurityRequirement::default(),
        SecurityRequirement::new("bearer", [] as [&str; 0]),
    ]);
}

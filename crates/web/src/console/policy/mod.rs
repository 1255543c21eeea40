//! The escalation policy editor at `/services/{service}/policy`: the stored policy as a
//! draft, edits applied server-side and re-rendered unsaved, Save through the API's
//! validation and use case, and Delete behind a confirmation page.

mod draft;
mod form;

use super::layout::{page, with_status, ErrorPage};
use super::services::service_path;
use super::session::Access;
use crate::error::HttpError;
use crate::params::service_id;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use domain::ServiceId;
use draft::{Draft, Edit, FieldError};
use form::Editor;
use maud::{html, Markup};

fn policy_path(service: &ServiceId) -> String {
    format!("{}/policy", service_path(service.as_str()))
}

/// The editor page around `draft`; `notice` says what just happened.
fn editor_page(
    state: &AppState,
    access: &Access,
    service: &ServiceId,
    draft: &Draft,
    stored: bool,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let action = policy_path(service);
    let editor = Editor {
        action: &action,
        csrf: &access.csrf,
        can_write: access.can_write,
        default_timeout: state.pager.ack_timeout(),
        errors,
    };
    let body = html! {
        h1 { "Escalation policy of " span.id { (service.as_str()) } }
        p { a href=(service_path(service.as_str())) { "Back to the service" } }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        @if !errors.is_empty() {
            p.problem role="alert" { "Not saved: " (errors.len()) " problem(s), shown beside their fields." }
        }
        @if !stored { p { "This service has no policy yet; nobody is notified of its incidents." } }
        (editor.render(draft))
        @if stored && access.can_write {
            p { a.danger href={ (action) "/delete" } { "Delete this policy" } }
        }
    };
    page(&format!("Policy of {}", service.as_str()), access, body)
}

/// `GET /services/{service}/policy`: the stored policy, or a first draft.
pub async fn show(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let id = service_id(&service).map_err(fail)?;
    let policy = state.pager.policy(&id).await.map_err(|e| fail(e.into()))?;
    let draft = policy.as_ref().map(Draft::of).unwrap_or_else(Draft::starter);
    let notice = match raw.as_deref() {
        Some("saved") => Some("Saved."),
        Some("deleted") => Some("The policy was deleted."),
        _ => None,
    };
    Ok(editor_page(&state, &access, &id, &draft, policy.is_some(), &[], notice))
}

/// `POST /services/{service}/policy`: applies the button's edit and shows the draft, or,
/// for Save, validates and stores it (422 with the draft and its errors when invalid).
pub async fn submit(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fail = |error: HttpError| access.failing()(error).into_response();
    let csrf = fields.iter().find(|(n, _)| n == "csrf").map(|(_, v)| v.as_str());
    if let Err(refused) = access.check_csrf(csrf.unwrap_or("")) {
        return refused.into_response();
    }
    let id = match service_id(&service) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let mut draft = match Draft::from_fields(&fields) {
        Ok(d) => d,
        Err(e) => return fail(HttpError::BadRequest(e.to_string())),
    };
    let stored = match state.pager.policy(&id).await {
        Ok(p) => p.is_some(),
        Err(e) => return fail(e.into()),
    };
    let op = fields
        .iter()
        .find(|(n, _)| n == "op")
        .map(|(_, v)| v.as_str())
        .unwrap_or("save");
    if op != "save" {
        let Some(edit) = Edit::parse(op) else {
            return fail(HttpError::BadRequest(format!("unknown editor action {op:?}")));
        };
        draft.apply(edit);
        let notice = Some("Changed, not saved yet.");
        return editor_page(&state, &access, &id, &draft, stored, &[], notice).into_response();
    }
    match draft.validate(&id) {
        Err(errors) => with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            editor_page(&state, &access, &id, &draft, stored, &errors, None),
        ),
        Ok(policy) => match state.pager.put_policy(&policy).await {
            Ok(_) => Redirect::to(&format!("{}?saved", policy_path(&id))).into_response(),
            Err(e) => fail(e.into()),
        },
    }
}

/// `GET /services/{service}/policy/delete`: asks before deleting.
pub async fn confirm_delete(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let id = service_id(&service).map_err(fail)?;
    if state.pager.policy(&id).await.map_err(|e| fail(e.into()))?.is_none() {
        return Err(fail(HttpError::NotFound(format!(
            "no escalation policy for service {id}"
        ))));
    }
    let back = policy_path(&id);
    let body = html! {
        h1 { "Delete the policy of " span.id { (id.as_str()) } "?" }
        p { "Nobody will be notified of this service's incidents any more, the open one included." }
        div.actions {
            @if access.can_write {
                form method="post" action={ (back) "/delete" } {
                    input type="hidden" name="csrf" value=(access.csrf);
                    button #confirm-delete.danger type="submit" { "Delete" }
                }
            }
            a #cancel href=(back) { "Cancel" }
        }
    };
    Ok(page(&format!("Delete the policy of {}", id.as_str()), &access, body))
}

/// The delete form's field.
#[derive(serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /services/{service}/policy/delete`: deletes, then back to the (empty) editor.
pub async fn delete(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    Path(service): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let fail = |error: HttpError| access.failing()(error).into_response();
    if let Err(refused) = access.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let id = match service_id(&service) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    match state.pager.delete_policy(&id).await {
        Ok(true) => Redirect::to(&format!("{}?deleted", policy_path(&id))).into_response(),
        Ok(false) => fail(HttpError::NotFound(format!("no escalation policy for service {id}"))),
        Err(e) => fail(e.into()),
    }
}

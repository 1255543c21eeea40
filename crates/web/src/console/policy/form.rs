//! The policy editor as one form: every field named by index, the add, remove and move
//! buttons submitting it back, each error beside the field it concerns.

use super::draft::{Draft, Edit, FieldError};
use domain::pager::policy::{MAX_LEVELS, MAX_TARGETS_PER_LEVEL};
use domain::pager::{Channel, LastLevelTimeout, PolicyPlace};
use maud::{html, Markup};
use std::time::Duration;

/// What the editor shows around the draft.
pub struct Editor<'a> {
    /// The form's action.
    pub action: &'a str,
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// Whether the buttons are shown and the fields editable.
    pub can_write: bool,
    /// The pager's timeout, for levels without their own.
    pub default_timeout: Duration,
    /// The errors of the last save.
    pub errors: &'a [FieldError],
}

fn channel_label(kind: Channel) -> &'static str {
    match kind {
        Channel::Email => "E-mail",
        Channel::Sms => "SMS",
    }
}

/// The id of the error element of a place: `err-policy`, `err-level-0`,
/// `err-level-0-timeout`, `err-level-0-target-1` (indices from 0, as the field names).
pub fn error_id(place: PolicyPlace) -> String {
    match place {
        PolicyPlace::Policy => "err-policy".into(),
        PolicyPlace::Level(l) => format!("err-level-{}", l - 1),
        PolicyPlace::LevelTimeout(l) => format!("err-level-{}-timeout", l - 1),
        PolicyPlace::Target(l, t) => format!("err-level-{}-target-{}", l - 1, t - 1),
    }
}

impl Editor<'_> {
    fn error(&self, place: PolicyPlace) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.place == place)
    }

    /// The error text of a place, with the id its field points at.
    fn error_text(&self, place: PolicyPlace) -> Markup {
        html! {
            @if let Some(e) = self.error(place) {
                p.field-error id=(error_id(place)) { (e.message) }
            }
        }
    }

    fn described_by(&self, place: PolicyPlace) -> Option<String> {
        self.error(place).map(|_| error_id(place))
    }

    fn op(&self, edit: Edit, text: &str, label: &str) -> Markup {
        html! {
            @if self.can_write {
                button.secondary type="submit" name="op" value=(edit.value()) aria-label=(label) { (text) }
            }
        }
    }

    /// The whole form.
    pub fn render(&self, draft: &Draft) -> Markup {
        let n = draft.levels.len();
        html! {
            form.policy method="post" action=(self.action) novalidate {
                @if self.can_write {
                    // Enter in a field saves: the first submit button is the form's default.
                    button.default-submit type="submit" name="op" value="save" tabindex="-1" aria-hidden="true" { "Save" }
                    input type="hidden" name="csrf" value=(self.csrf);
                }
                fieldset.policy-fields disabled[!self.can_write] {
                    legend { "Levels, notified one after the other until someone acknowledges" }
                    (self.error_text(PolicyPlace::Policy))
                    @for (i, level) in draft.levels.iter().enumerate() {
                        @let number = i + 1;
                        fieldset.level aria-describedby=[self.described_by(PolicyPlace::Level(number))] {
                            legend { "Level " (number) }
                            (self.error_text(PolicyPlace::Level(number)))
                            div.field {
                                @let id = format!("level-{i}-timeout");
                                label for=(id) { "Timeout in seconds (empty: the pager's " (self.default_timeout.as_secs()) ")" }
                                input id=(id) type="text" inputmode="numeric" name={ "level." (i) ".timeout" } value=(level.timeout)
                                    aria-invalid=[self.error(PolicyPlace::LevelTimeout(number)).map(|_| "true")]
                                    aria-describedby=[self.described_by(PolicyPlace::LevelTimeout(number))];
                                (self.error_text(PolicyPlace::LevelTimeout(number)))
                            }
                            ol.targets {
                                @for (j, t) in level.targets.iter().enumerate() {
                                    @let place = PolicyPlace::Target(number, j + 1);
                                    @let base = format!("level-{i}-target-{j}");
                                    li.target {
                                        div.field {
                                            label for={ (base) "-kind" } { "Target " (j + 1) " kind" }
                                            select id={ (base) "-kind" } name={ "level." (i) ".target." (j) ".kind" } {
                                                @for kind in [Channel::Email, Channel::Sms] {
                                                    option value=(kind.as_str()) selected[t.kind == kind] { (channel_label(kind)) }
                                                }
                                            }
                                        }
                                        div.field.address {
                                            label for={ (base) "-address" } {
                                                "Target " (j + 1) @if t.kind == Channel::Email { " e-mail address" } @else { " phone number (E.164)" }
                                            }
                                            input id={ (base) "-address" } type="text" name={ "level." (i) ".target." (j) ".address" } value=(t.address)
                                                aria-invalid=[self.error(place).map(|_| "true")]
                                                aria-describedby=[self.described_by(place)];
                                            (self.error_text(place))
                                        }
                                        (self.op(Edit::RemoveTarget(i, j), "Remove", &format!("Remove target {} of level {number}", j + 1)))
                                    }
                                }
                            }
                            div.level-actions {
                                @if level.targets.len() < MAX_TARGETS_PER_LEVEL {
                                    (self.op(Edit::AddTarget(i, Channel::Email), "Add e-mail", &format!("Add an e-mail target to level {number}")))
                                    (self.op(Edit::AddTarget(i, Channel::Sms), "Add SMS", &format!("Add an SMS target to level {number}")))
                                }
                                @if i > 0 { (self.op(Edit::MoveUp(i), "Move up", &format!("Move level {number} up"))) }
                                @if i + 1 < n { (self.op(Edit::MoveDown(i), "Move down", &format!("Move level {number} down"))) }
                                (self.op(Edit::RemoveLevel(i), "Remove level", &format!("Remove level {number}")))
                            }
                        }
                    }
                    @if n < MAX_LEVELS { (self.op(Edit::AddLevel, "Add level", "Add a level")) }
                    div.field {
                        label for="last" { "After the last level times out" }
                        select #last name="last" {
                            option value="stop" selected[draft.last == LastLevelTimeout::Stop] { "stop: notify nobody more" }
                            option value="repeat" selected[draft.last == LastLevelTimeout::Repeat] { "repeat: notify the last level again" }
                        }
                    }
                }
                @if self.can_write {
                    div.actions {
                        button #save type="submit" name="op" value="save" { "Save" }
                    }
                }
            }
        }
    }
}

//! A policy being edited: parsed from the editor's form (fields named by index), changed
//! by the form's buttons (add, remove, move), and validated by the domain on save.

use domain::pager::policy::{MAX_LEVELS, MAX_TARGETS_PER_LEVEL};
use domain::pager::{Channel, EscalationPolicy, LastLevelTimeout, LevelSpec, PolicyError, PolicyPlace, Target};
use domain::ServiceId;
use std::time::Duration;

/// One target as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftTarget {
    /// E-mail or SMS.
    pub kind: Channel,
    /// The address or phone number, as typed.
    pub address: String,
}

/// One level as typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DraftLevel {
    /// Its own timeout in seconds, as typed; empty for the pager's.
    pub timeout: String,
    /// Its targets, in order.
    pub targets: Vec<DraftTarget>,
}

/// The whole policy as typed, not saved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Draft {
    /// The levels, first notified first.
    pub levels: Vec<DraftLevel>,
    /// What a timeout of the last level does.
    pub last: LastLevelTimeout,
}

/// A change the editor's buttons ask for; indices from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// A new, empty level at the end.
    AddLevel,
    /// Removes a level.
    RemoveLevel(usize),
    /// Swaps a level with the one before it.
    MoveUp(usize),
    /// Swaps a level with the one after it.
    MoveDown(usize),
    /// A new, empty target of this kind at the end of a level.
    AddTarget(usize, Channel),
    /// Removes a target of a level.
    RemoveTarget(usize, usize),
}

impl Edit {
    /// The button value of this edit: `add-level`, `remove-level:1`, `up:1`, `down:1`,
    /// `add-email:1`, `add-sms:1`, `remove-target:1:0`.
    pub fn value(self) -> String {
        match self {
            Edit::AddLevel => "add-level".into(),
            Edit::RemoveLevel(l) => format!("remove-level:{l}"),
            Edit::MoveUp(l) => format!("up:{l}"),
            Edit::MoveDown(l) => format!("down:{l}"),
            Edit::AddTarget(l, kind) => format!("add-{}:{l}", kind.as_str()),
            Edit::RemoveTarget(l, t) => format!("remove-target:{l}:{t}"),
        }
    }

    /// The edit a button value names, if any.
    pub fn parse(value: &str) -> Option<Edit> {
        let mut parts = value.split(':');
        let name = parts.next()?;
        let mut index = || parts.next().and_then(|p| p.parse::<usize>().ok());
        let edit = match name {
            "add-level" => Edit::AddLevel,
            "remove-level" => Edit::RemoveLevel(index()?),
            "up" => Edit::MoveUp(index()?),
            "down" => Edit::MoveDown(index()?),
            "add-email" => Edit::AddTarget(index()?, Channel::Email),
            "add-sms" => Edit::AddTarget(index()?, Channel::Sms),
            "remove-target" => Edit::RemoveTarget(index()?, index()?),
            _ => return None,
        };
        Some(edit)
    }
}

/// A form field the editor does not know, or an index past what a policy may hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected form field {0:?}")]
pub struct UnknownField(pub String);

/// A validation error and where it belongs: `place`'s indices count from 1, as the domain's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Which field or group it concerns.
    pub place: PolicyPlace,
    /// What is wrong, as the API's problem detail says it.
    pub message: String,
}

impl Draft {
    /// The draft of a stored policy.
    pub fn of(policy: &EscalationPolicy) -> Self {
        Self {
            levels: policy
                .levels()
                .iter()
                .map(|l| DraftLevel {
                    timeout: l.timeout().map(|t| t.as_secs().to_string()).unwrap_or_default(),
                    targets: l
                        .targets()
                        .iter()
                        .map(|t| DraftTarget {
                            kind: t.channel(),
                            address: t.address().to_string(),
                        })
                        .collect(),
                })
                .collect(),
            last: policy.last_level_timeout(),
        }
    }

    /// A first draft for a service without a policy: one level with one e-mail target.
    pub fn starter() -> Self {
        let mut draft = Self::default();
        draft.apply(Edit::AddLevel);
        draft.apply(Edit::AddTarget(0, Channel::Email));
        draft
    }

    /// Reads the fields `level.N.timeout`, `level.N.target.M.kind`, `level.N.target.M.address`
    /// and `last`; `csrf` and `op` are the caller's. Levels and targets missing between
    /// given indices come back empty.
    pub fn from_fields(fields: &[(String, String)]) -> Result<Self, UnknownField> {
        let mut draft = Draft::default();
        for (name, value) in fields {
            let unknown = || UnknownField(name.clone());
            let parts: Vec<&str> = name.split('.').collect();
            match parts.as_slice() {
                ["csrf"] | ["op"] => {}
                ["last"] => {
                    draft.last = match value.as_str() {
                        "repeat" => LastLevelTimeout::Repeat,
                        "stop" => LastLevelTimeout::Stop,
                        _ => return Err(unknown()),
                    }
                }
                ["level", l, rest @ ..] => {
                    let l = index(l, MAX_LEVELS).ok_or_else(unknown)?;
                    if draft.levels.len() <= l {
                        draft.levels.resize_with(l + 1, DraftLevel::default);
                    }
                    let level = &mut draft.levels[l];
                    match rest {
                        ["timeout"] => level.timeout = value.trim().to_string(),
                        ["target", t, field] => {
                            let t = index(t, MAX_TARGETS_PER_LEVEL).ok_or_else(unknown)?;
                            if level.targets.len() <= t {
                                level.targets.resize_with(t + 1, || DraftTarget {
                                    kind: Channel::Email,
                                    address: String::new(),
                                });
                            }
                            match *field {
                                "kind" => level.targets[t].kind = Channel::parse(value).ok_or_else(unknown)?,
                                "address" => level.targets[t].address = value.trim().to_string(),
                                _ => return Err(unknown()),
                            }
                        }
                        _ => return Err(unknown()),
                    }
                }
                _ => return Err(unknown()),
            }
        }
        Ok(draft)
    }

    /// Applies one edit; an index out of range changes nothing.
    pub fn apply(&mut self, edit: Edit) {
        let n = self.levels.len();
        match edit {
            Edit::AddLevel if n < MAX_LEVELS => self.levels.push(DraftLevel::default()),
            Edit::RemoveLevel(l) if l < n => {
                self.levels.remove(l);
            }
            Edit::MoveUp(l) if l > 0 && l < n => self.levels.swap(l - 1, l),
            Edit::MoveDown(l) if l + 1 < n => self.levels.swap(l, l + 1),
            Edit::AddTarget(l, kind) if l < n && self.levels[l].targets.len() < MAX_TARGETS_PER_LEVEL => {
                self.levels[l].targets.push(DraftTarget {
                    kind,
                    address: String::new(),
                })
            }
            Edit::RemoveTarget(l, t) if l < n && t < self.levels[l].targets.len() => {
                self.levels[l].targets.remove(t);
            }
            _ => {}
        }
    }

    /// The policy this draft describes, validated by the domain as the API validates it;
    /// otherwise every target and timeout error found, then the first structural one.
    pub fn validate(&self, service: &ServiceId) -> Result<EscalationPolicy, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut specs = Vec::with_capacity(self.levels.len());
        for (i, level) in self.levels.iter().enumerate() {
            let timeout = match level.timeout.as_str() {
                "" => None,
                typed => match typed.parse::<u64>() {
                    Ok(seconds) => Some(Duration::from_secs(seconds)),
                    Err(_) => {
                        errors.push(FieldError {
                            place: PolicyPlace::LevelTimeout(i + 1),
                            message: format!("level {}: the timeout must be a whole number of seconds", i + 1),
                        });
                        None
                    }
                },
            };
            for (j, t) in level.targets.iter().enumerate() {
                if let Err(e) = Target::new(t.kind, &t.address) {
                    errors.push(placed(PolicyError::InvalidTarget {
                        level: i + 1,
                        index: j + 1,
                        error: Box::new(e),
                    }));
                }
            }
            specs.push(LevelSpec {
                targets: level.targets.iter().map(|t| (t.kind, t.address.clone())).collect(),
                timeout,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        EscalationPolicy::parse(service.clone(), specs, self.last).map_err(|e| vec![placed(e)])
    }
}

fn placed(e: PolicyError) -> FieldError {
    FieldError {
        place: e.place().unwrap_or(PolicyPlace::Policy),
        message: e.to_string(),
    }
}

/// An index below `max`, or `None`.
fn index(text: &str, max: usize) -> Option<usize> {
    text.parse::<usize>().ok().filter(|i| *i < max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: Channel, address: &str) -> DraftTarget {
        DraftTarget {
            kind,
            address: address.into(),
        }
    }

    fn three_levels() -> Draft {
        let level = |a: &str| DraftLevel {
            timeout: String::new(),
            targets: vec![target(Channel::Email, a)],
        };
        Draft {
            levels: vec![level("a@example.com"), level("b@example.com"), level("c@example.com")],
            last: LastLevelTimeout::Stop,
        }
    }

    fn firsts(d: &Draft) -> Vec<&str> {
        d.levels.iter().map(|l| l.targets[0].address.as_str()).collect()
    }

    #[test]
    fn levels_move_up_and_down_and_stay_put_at_the_ends() {
        let mut d = three_levels();
        d.apply(Edit::MoveUp(2));
        assert_eq!(firsts(&d), ["a@example.com", "c@example.com", "b@example.com"]);
        d.apply(Edit::MoveDown(0));
        assert_eq!(firsts(&d), ["c@example.com", "a@example.com", "b@example.com"]);
        let before = d.clone();
        d.apply(Edit::MoveUp(0));
        d.apply(Edit::MoveDown(2));
        d.apply(Edit::MoveDown(7));
        assert_eq!(d, before, "nothing above the first or below the last");
    }

    #[test]
    fn levels_and_targets_are_added_at_the_end_and_removed_where_asked() {
        let mut d = three_levels();
        d.apply(Edit::AddTarget(1, Channel::Sms));
        assert_eq!(
            d.levels[1].targets,
            [target(Channel::Email, "b@example.com"), target(Channel::Sms, "")]
        );
        d.apply(Edit::RemoveTarget(1, 0));
        assert_eq!(d.levels[1].targets, [target(Channel::Sms, "")]);
        d.apply(Edit::RemoveLevel(0));
        d.apply(Edit::AddLevel);
        assert_eq!(d.levels.len(), 3);
        assert!(d.levels[2].targets.is_empty());
        d.apply(Edit::RemoveTarget(0, 9));
        d.apply(Edit::RemoveLevel(9));
        assert_eq!(d.levels.len(), 3, "out of range changes nothing");
    }

    #[test]
    fn no_more_levels_than_a_policy_may_hold_are_added() {
        let mut d = Draft::default();
        for _ in 0..MAX_LEVELS + 3 {
            d.apply(Edit::AddLevel);
        }
        assert_eq!(d.levels.len(), MAX_LEVELS);
    }

    #[test]
    fn button_values_name_their_edit() {
        for edit in [
            Edit::AddLevel,
            Edit::RemoveLevel(3),
            Edit::MoveUp(1),
            Edit::MoveDown(0),
            Edit::AddTarget(2, Channel::Email),
            Edit::AddTarget(2, Channel::Sms),
            Edit::RemoveTarget(1, 4),
        ] {
            assert_eq!(Edit::parse(&edit.value()), Some(edit));
        }
        assert_eq!(Edit::parse("up"), None);
        assert_eq!(Edit::parse("save"), None);
    }

    #[test]
    fn fields_named_by_index_read_back_into_the_draft() {
        let fields: Vec<(String, String)> = [
            ("csrf", "x"),
            ("level.0.timeout", " 60 "),
            ("level.0.target.0.kind", "email"),
            ("level.0.target.0.address", "a@example.com"),
            ("level.1.target.0.kind", "sms"),
            ("level.1.target.0.address", "+33600000000"),
            ("last", "repeat"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let d = Draft::from_fields(&fields).unwrap();
        assert_eq!(d.levels[0].timeout, "60");
        assert_eq!(d.levels[1].targets, [target(Channel::Sms, "+33600000000")]);
        assert_eq!(d.last, LastLevelTimeout::Repeat);
        let policy = d.validate(&ServiceId::parse("db").unwrap()).unwrap();
        assert_eq!(Draft::of(&policy), d);
        for bad in ["level.99.timeout", "level.0.colour", "level.0.target.x.kind", "other"] {
            assert!(
                Draft::from_fields(&[(bad.to_string(), String::new())]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_bad_target_and_timeout_is_reported_where_it_is() {
        let mut d = three_levels();
        d.levels[0].timeout = "soon".into();
        d.levels[1].targets.push(target(Channel::Sms, "+12"));
        d.levels[2].targets[0].address = "nobody".into();
        let errors = d.validate(&ServiceId::parse("db").unwrap()).unwrap_err();
        let places: Vec<_> = errors.iter().map(|e| e.place).collect();
        assert_eq!(
            places,
            [
                PolicyPlace::LevelTimeout(1),
                PolicyPlace::Target(2, 2),
                PolicyPlace::Target(3, 1)
            ]
        );
        assert!(errors[1].message.contains("+12"));
        let empty = Draft::default().validate(&ServiceId::parse("db").unwrap()).unwrap_err();
        assert_eq!(empty[0].place, PolicyPlace::Policy);
    }
}

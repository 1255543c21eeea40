//! Escalation policies: who is paged for a service, level after level, and what happens
//! when the last level does not answer.

use crate::ServiceId;
use std::fmt;
use std::time::Duration;

/// The most levels a policy may have.
pub const MAX_LEVELS: usize = 20;
/// The most targets one level may have.
pub const MAX_TARGETS_PER_LEVEL: usize = 50;
/// The longest e-mail address accepted, in characters (the RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The shortest timeout a level may set for itself.
pub const MIN_LEVEL_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest timeout a level may set for itself.
pub const MAX_LEVEL_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a policy or a target is not valid; the text says which part and why, and
/// [`PolicyError::place`] says where, so a form can show it next to its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy has no level, or more than [`MAX_LEVELS`].
    #[error("a policy needs 1 to {MAX_LEVELS} levels, got {0}")]
    LevelCount(usize),
    /// A level has no target, or more than [`MAX_TARGETS_PER_LEVEL`].
    #[error("level {level} needs 1 to {MAX_TARGETS_PER_LEVEL} targets, got {count}")]
    TargetCount {
        /// 1-based level number.
        level: usize,
        /// Targets it had.
        count: usize,
    },
    /// The same target twice in one level.
    #[error("level {level} lists {target} twice (target {index})")]
    DuplicateTarget {
        /// 1-based level number.
        level: usize,
        /// 1-based position of the repetition in the level.
        index: usize,
        /// The repeated target.
        target: String,
    },
    /// A target of a level is not valid; `error` says why.
    #[error("level {level}, target {index}: {error}")]
    InvalidTarget {
        /// 1-based level number.
        level: usize,
        /// 1-based position of the target in the level.
        index: usize,
        /// `Email` or `Phone`.
        error: Box<PolicyError>,
    },
    /// A level's own timeout is out of bounds.
    #[error("level {level}: a timeout must be 1 s to 7 days, got {seconds} s")]
    Timeout {
        /// 1-based level number.
        level: usize,
        /// The timeout given.
        seconds: u64,
    },
    /// Not a plausible e-mail address.
    #[error("{0:?} is not an e-mail address like a@example.com")]
    Email(String),
    /// Not an E.164 phone number.
    #[error("{0:?} is not an E.164 phone number like +33600000000")]
    Phone(String),
}

/// Where in a policy an error is: the whole policy, a level, or one target of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyPlace {
    /// The policy as a whole (its number of levels).
    Policy,
    /// A level, counted from 1.
    Level(usize),
    /// A level's timeout, counted from 1.
    LevelTimeout(usize),
    /// A target: level and position in it, both counted from 1.
    Target(usize, usize),
}

impl PolicyError {
    /// Where the error is; `None` for a target error not yet placed in a policy.
    pub fn place(&self) -> Option<PolicyPlace> {
        match self {
            PolicyError::LevelCount(_) => Some(PolicyPlace::Policy),
            PolicyError::TargetCount { level, .. } => Some(PolicyPlace::Level(*level)),
            PolicyError::Timeout { level, .. } => Some(PolicyPlace::LevelTimeout(*level)),
            PolicyError::DuplicateTarget { level, index, .. } | PolicyError::InvalidTarget { level, index, .. } => {
                Some(PolicyPlace::Target(*level, *index))
            }
            PolicyError::Email(_) | PolicyError::Phone(_) => None,
        }
    }
}

/// How a notification reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text message.
    Sms,
}

impl Channel {
    /// `email` or `sms`: the wire name and the subject suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The channel named `email` or `sms`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Someone to notify: an e-mail address or a phone number, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An e-mail address.
    Email(String),
    /// A phone number in E.164 form.
    Sms(String),
}

impl Target {
    /// An e-mail target: at most 254 characters; a local part of at least one character
    /// that is neither `@`, white space nor a control character; `@`; then two or more
    /// dot-separated labels of ASCII letters, digits and `-`, none starting with `-`.
    pub fn email(address: &str) -> Result<Self, PolicyError> {
        let bad = || PolicyError::Email(address.to_string());
        let (local, domain) = address.split_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty() && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        let labels: Vec<&str> = domain.split('.').collect();
        let labels_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                l.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if address.chars().count() > MAX_EMAIL_CHARS || !local_ok || !labels_ok {
            return Err(bad());
        }
        Ok(Target::Email(address.to_string()))
    }

    /// An SMS target in E.164 form: `+`, then 8 to 15 digits, the first not 0.
    pub fn sms(phone: &str) -> Result<Self, PolicyError> {
        let digits = phone.strip_prefix('+').unwrap_or("");
        let ok =
            (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0');
        if ok {
            Ok(Target::Sms(phone.to_string()))
        } else {
            Err(PolicyError::Phone(phone.to_string()))
        }
    }

    /// A target of `channel` at `address`, validated as [`Target::email`] or [`Target::sms`].
    pub fn new(channel: Channel, address: &str) -> Result<Self, PolicyError> {
        match channel {
            Channel::Email => Target::email(address),
            Channel::Sms => Target::sms(address),
        }
    }

    /// The channel it is reached on.
    pub fn channel(&self) -> Channel {
        match self {
            Target::Email(_) => Channel::Email,
            Target::Sms(_) => Channel::Sms,
        }
    }

    /// The address or the phone number.
    pub fn address(&self) -> &str {
        match self {
            Target::Email(a) | Target::Sms(a) => a,
        }
    }
}

impl fmt::Display for Target {
    /// `email:a@example.com` or `sms:+33600000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel().as_str(), self.address())
    }
}

/// One level of a policy: everyone notified together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    targets: Vec<Target>,
    timeout: Option<Duration>,
}

impl Level {
    /// The targets, in the order given.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// How long this level has to acknowledge, when it sets its own time; otherwise the
    /// pager's `ACK_TIMEOUT` applies.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// A level as written, before validation: its targets as (channel, address) and an
/// optional timeout of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LevelSpec {
    /// The targets, in order.
    pub targets: Vec<(Channel, String)>,
    /// The level's own timeout, if it has one.
    pub timeout: Option<Duration>,
}

/// What happens when the last level was notified and its timeout fires unacknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastLevelTimeout {
    /// Nobody more is notified and no timeout is set; the incident stays open.
    #[default]
    Stop,
    /// The last level is notified again, with a new timeout, until someone acknowledges.
    Repeat,
}

impl LastLevelTimeout {
    /// `stop` or `repeat`.
    pub fn as_str(self) -> &'static str {
        match self {
            LastLevelTimeout::Stop => "stop",
            LastLevelTimeout::Repeat => "repeat",
        }
    }
}

/// Who is paged for one service, level by level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    service_id: ServiceId,
    levels: Vec<Level>,
    last_level_timeout: LastLevelTimeout,
}

impl EscalationPolicy {
    /// A policy of 1 to [`MAX_LEVELS`] levels, each of 1 to [`MAX_TARGETS_PER_LEVEL`]
    /// distinct targets, every level on the pager's `ACK_TIMEOUT`.
    pub fn new(
        service_id: ServiceId,
        levels: Vec<Vec<Target>>,
        last_level_timeout: LastLevelTimeout,
    ) -> Result<Self, PolicyError> {
        let levels = levels
            .into_iter()
            .map(|targets| Level { targets, timeout: None })
            .collect();
        Self::checked(service_id, levels, last_level_timeout)
    }

    /// A policy from levels as written: every target validated, and the first error found
    /// (levels in order, targets in order) placed by level and target.
    pub fn parse(
        service_id: ServiceId,
        levels: Vec<LevelSpec>,
        last_level_timeout: LastLevelTimeout,
    ) -> Result<Self, PolicyError> {
        if levels.is_empty() || levels.len() > MAX_LEVELS {
            return Err(PolicyError::LevelCount(levels.len()));
        }
        let mut parsed = Vec::with_capacity(levels.len());
        for (i, spec) in levels.into_iter().enumerate() {
            if let Some(t) = spec
                .timeout
                .filter(|t| !(MIN_LEVEL_TIMEOUT..=MAX_LEVEL_TIMEOUT).contains(t))
            {
                return Err(PolicyError::Timeout {
                    level: i + 1,
                    seconds: t.as_secs(),
                });
            }
            let targets = spec
                .targets
                .iter()
                .enumerate()
                .map(|(j, (channel, address))| {
                    Target::new(*channel, address).map_err(|e| PolicyError::InvalidTarget {
                        level: i + 1,
                        index: j + 1,
                        error: Box::new(e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            parsed.push(Level {
                targets,
                timeout: spec.timeout,
            });
        }
        Self::checked(service_id, parsed, last_level_timeout)
    }

    fn checked(
        service_id: ServiceId,
        levels: Vec<Level>,
        last_level_timeout: LastLevelTimeout,
    ) -> Result<Self, PolicyError> {
        if levels.is_empty() || levels.len() > MAX_LEVELS {
            return Err(PolicyError::LevelCount(levels.len()));
        }
        for (i, level) in levels.iter().enumerate() {
            let targets = &level.targets;
            if targets.is_empty() || targets.len() > MAX_TARGETS_PER_LEVEL {
                return Err(PolicyError::TargetCount {
                    level: i + 1,
                    count: targets.len(),
                });
            }
            let repeated = targets.iter().enumerate().find(|(j, t)| targets[..*j].contains(t));
            if let Some((j, dup)) = repeated {
                return Err(PolicyError::DuplicateTarget {
                    level: i + 1,
                    index: j + 1,
                    target: dup.to_string(),
                });
            }
        }
        Ok(Self {
            service_id,
            levels,
            last_level_timeout,
        })
    }

    /// The levels as written, for [`EscalationPolicy::parse`] to read back.
    pub fn specs(&self) -> Vec<LevelSpec> {
        self.levels
            .iter()
            .map(|l| LevelSpec {
                targets: l
                    .targets
                    .iter()
                    .map(|t| (t.channel(), t.address().to_string()))
                    .collect(),
                timeout: l.timeout,
            })
            .collect()
    }

    /// The service it belongs to.
    pub fn service_id(&self) -> &ServiceId {
        &self.service_id
    }

    /// The levels, first level first.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Level `n`, counted from 1.
    pub fn level(&self, n: u32) -> Option<&Level> {
        (n as usize).checked_sub(1).and_then(|i| self.levels.get(i))
    }

    /// How many levels it has.
    pub fn last_level(&self) -> u32 {
        self.levels.len() as u32
    }

    /// What a timeout of the last level does.
    pub fn last_level_timeout(&self) -> LastLevelTimeout {
        self.last_level_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_email_addresses_and_e164_numbers_are_accepted() {
        assert_eq!(
            Target::email("a@example.com").unwrap().to_string(),
            "email:a@example.com"
        );
        assert_eq!(
            Target::email("first.last+tag@mail.example.org").unwrap().address(),
            "first.last+tag@mail.example.org"
        );
        assert_eq!(Target::sms("+33600000000").unwrap().to_string(), "sms:+33600000000");
    }

    #[test]
    fn malformed_email_addresses_are_refused() {
        for bad in [
            "",
            "a",
            "a@",
            "@example.com",
            "a@b@c.com",
            "a@localhost",
            "a b@x.com",
            "a@x..com",
            "a@-x.com",
        ] {
            assert!(matches!(Target::email(bad), Err(PolicyError::Email(_))), "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_must_be_e164() {
        for bad in [
            "",
            "0600000000",
            "+0600000000",
            "+33 6 00 00 00 00",
            "+1234567",
            "+1234567890123456",
            "+33a00000000",
        ] {
            assert!(matches!(Target::sms(bad), Err(PolicyError::Phone(_))), "{bad:?}");
        }
    }

    #[test]
    fn policies_need_levels_with_distinct_targets() {
        let service = ServiceId::parse("db").unwrap();
        let a = Target::email("a@example.com").unwrap();
        assert_eq!(
            EscalationPolicy::new(service.clone(), vec![], LastLevelTimeout::Stop),
            Err(PolicyError::LevelCount(0))
        );
        assert_eq!(
            EscalationPolicy::new(service.clone(), vec![vec![a.clone()], vec![]], LastLevelTimeout::Stop),
            Err(PolicyError::TargetCount { level: 2, count: 0 })
        );
        assert!(matches!(
            EscalationPolicy::new(
                service.clone(),
                vec![vec![a.clone(), a.clone()]],
                LastLevelTimeout::Stop
            ),
            Err(PolicyError::DuplicateTarget { level: 1, .. })
        ));
        let policy =
            EscalationPolicy::new(service.clone(), vec![vec![a.clone()]], LastLevelTimeout::default()).unwrap();
        assert_eq!(policy.level(1).unwrap().targets(), [a]);
        assert!(policy.level(0).is_none() && policy.level(2).is_none());
        assert_eq!(policy.last_level_timeout(), LastLevelTimeout::Stop);
        assert_eq!(
            EscalationPolicy::parse(service, policy.specs(), LastLevelTimeout::Stop),
            Ok(policy)
        );
    }

    #[test]
    fn parse_errors_name_the_level_and_target_they_concern() {
        let service = ServiceId::parse("db").unwrap();
        let level = |targets: &[(Channel, &str)], timeout: Option<u64>| LevelSpec {
            targets: targets.iter().map(|(c, a)| (*c, a.to_string())).collect(),
            timeout: timeout.map(Duration::from_secs),
        };
        let email = (Channel::Email, "a@example.com");
        let parse = |levels| EscalationPolicy::parse(service.clone(), levels, LastLevelTimeout::Repeat);
        let bad_phone = parse(vec![
            level(&[email], None),
            level(&[email, (Channel::Sms, "+12")], None),
        ])
        .unwrap_err();
        assert_eq!(bad_phone.place(), Some(PolicyPlace::Target(2, 2)));
        assert!(bad_phone.to_string().contains("level 2, target 2") && bad_phone.to_string().contains("+12"));
        let twice = parse(vec![level(&[email, email], None)]).unwrap_err();
        assert_eq!(twice.place(), Some(PolicyPlace::Target(1, 2)));
        assert_eq!(
            parse(vec![level(&[], None)]).unwrap_err().place(),
            Some(PolicyPlace::Level(1))
        );
        assert_eq!(parse(vec![]).unwrap_err().place(), Some(PolicyPlace::Policy));
        let zero = parse(vec![level(&[email], Some(0))]).unwrap_err();
        assert_eq!(zero.place(), Some(PolicyPlace::LevelTimeout(1)));
        let ok = parse(vec![level(&[email], Some(90))]).unwrap();
        assert_eq!(ok.level(1).unwrap().timeout(), Some(Duration::from_secs(90)));
    }
}

//! Validated user, alarm and service identifiers.

use std::fmt;

/// The longest identifier accepted, in characters (so at most 1 KiB of UTF-8); longer ones
/// are hostile or broken input.
pub const MAX_ID_CHARS: usize = 256;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier is empty or only white space.
    #[error("is empty")]
    Empty,
    /// The identifier is longer than [`MAX_ID_CHARS`].
    #[error("is {0} characters long, the limit is {MAX_ID_CHARS}")]
    TooLong(usize),
    /// The identifier contains a control character.
    #[error("contains a control character")]
    ControlCharacter,
}

fn validate(s: &str) -> Result<(), IdError> {
    if s.trim().is_empty() {
        return Err(IdError::Empty);
    }
    let chars = s.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(IdError::TooLong(chars));
    }
    if s.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter);
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn parse(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                validate(&s)?;
                Ok(Self(s))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier!(
    /// The person an alarm belongs to and who receives its digests.
    UserId
);
identifier!(
    /// An alarm, unique within one user.
    AlarmId
);
identifier!(
    /// A monitored service: what an escalation policy belongs to and an incident is about.
    ServiceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_identifiers_are_accepted_as_given() {
        assert_eq!(UserId::parse("user-1").unwrap().as_str(), "user-1");
        assert_eq!(AlarmId::parse("disk /var 90%").unwrap().as_str(), "disk /var 90%");
    }

    #[test]
    fn empty_blank_long_and_control_identifiers_are_rejected() {
        assert_eq!(UserId::parse(""), Err(IdError::Empty));
        assert_eq!(UserId::parse("   "), Err(IdError::Empty));
        assert_eq!(AlarmId::parse("x".repeat(10_000)), Err(IdError::TooLong(10_000)));
        assert_eq!(AlarmId::parse("a\nb"), Err(IdError::ControlCharacter));
    }

    #[test]
    fn the_length_limit_counts_characters_not_bytes() {
        assert!(UserId::parse("é".repeat(MAX_ID_CHARS)).is_ok());
        assert_eq!(
            UserId::parse("é".repeat(MAX_ID_CHARS + 1)),
            Err(IdError::TooLong(MAX_ID_CHARS + 1))
        );
    }
}

//! Every kind of input message, declared once: the subject it arrives on by default, how
//! its payload is parsed, and every outcome it may be settled with. Intake parses and
//! settles by it, the input stream captures its subjects, and the metrics create one
//! series per kind and outcome from it; adding a kind is an entry here and an arm where
//! its use case is called.

use super::pager_wire::{parse_acknowledge, parse_alert, parse_healthy};
use super::Input;
use domain::pager::Outcome;
use domain::ApplyOutcome;
use wire::{parse_acknowledgement, parse_digest_request, parse_status_changed, WireError};

/// One kind of input message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `AlarmStatusChanged`: a new status of one alarm.
    AlarmStatusChanged,
    /// `SendAlarmDigest`: a user's digest is asked for.
    SendAlarmDigest,
    /// `AlarmAcknowledged`: someone acknowledged an alarm.
    AlarmAcknowledged,
    /// `PagerAlert`: a monitored service is failing.
    PagerAlert,
    /// `PagerAcknowledge`: someone took the service's open incident.
    PagerAcknowledge,
    /// `ServiceHealthy`: the service recovered.
    ServiceHealthy,
}

/// What any input may end as besides its use case's answers: refused, and dead-lettered.
const REJECTED: [&str; 2] = ["invalid", "dead_lettered"];

impl InputKind {
    /// Every kind, in the order settings and metrics list them.
    pub const ALL: [InputKind; 6] = [
        InputKind::AlarmStatusChanged,
        InputKind::SendAlarmDigest,
        InputKind::AlarmAcknowledged,
        InputKind::PagerAlert,
        InputKind::PagerAcknowledge,
        InputKind::ServiceHealthy,
    ];

    /// The subject it arrives on unless configured otherwise: its own name.
    pub fn default_subject(self) -> &'static str {
        match self {
            InputKind::AlarmStatusChanged => "AlarmStatusChanged",
            InputKind::SendAlarmDigest => "SendAlarmDigest",
            InputKind::AlarmAcknowledged => "AlarmAcknowledged",
            InputKind::PagerAlert => "PagerAlert",
            InputKind::PagerAcknowledge => "PagerAcknowledge",
            InputKind::ServiceHealthy => "ServiceHealthy",
        }
    }

    /// Every outcome a message of this kind may be settled with: its use case's answers,
    /// then refused (`invalid`) and `dead_lettered`.
    pub fn outcomes(self) -> Vec<&'static str> {
        let answers: Vec<&'static str> = match self {
            InputKind::AlarmStatusChanged => ApplyOutcome::ALL.map(ApplyOutcome::as_str).to_vec(),
            InputKind::SendAlarmDigest => vec!["digest_sent", "already_answered"],
            // `deferred`: an acknowledgement of an alarm not seen yet, handed back to be
            // retried after the alarm's first event.
            InputKind::AlarmAcknowledged => vec!["recorded", "duplicate", "deferred"],
            InputKind::PagerAlert => Outcome::OF_ALERT.map(Outcome::as_str).to_vec(),
            InputKind::PagerAcknowledge => Outcome::OF_ACKNOWLEDGE.map(Outcome::as_str).to_vec(),
            InputKind::ServiceHealthy => Outcome::OF_HEALTHY.map(Outcome::as_str).to_vec(),
        };
        answers.into_iter().chain(REJECTED).collect()
    }

    /// The payload parsed into what intake hands its use case, or why it is refused.
    pub(super) fn parse(self, payload: &[u8], max_payload: usize) -> Result<Input, WireError> {
        match self {
            InputKind::AlarmStatusChanged => parse_status_changed(payload, max_payload).map(Input::Event),
            InputKind::SendAlarmDigest => parse_digest_request(payload, max_payload).map(Input::Digest),
            InputKind::AlarmAcknowledged => parse_acknowledgement(payload, max_payload).map(Input::Acknowledgement),
            InputKind::PagerAlert => parse_alert(payload, max_payload).map(Input::Pager),
            InputKind::PagerAcknowledge => parse_acknowledge(payload, max_payload).map(Input::Pager),
            InputKind::ServiceHealthy => parse_healthy(payload, max_payload).map(Input::Pager),
        }
    }
}

/// The subject each kind arrives on.
#[derive(Debug, Clone)]
pub struct Subjects(Vec<(InputKind, String)>);

impl Subjects {
    /// The subjects `subject_of` names for each kind.
    pub fn new(subject_of: impl Fn(InputKind) -> String) -> Self {
        Self(InputKind::ALL.iter().map(|&kind| (kind, subject_of(kind))).collect())
    }

    /// The subject of `kind`.
    pub fn of(&self, kind: InputKind) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, subject)| subject.as_str())
            .expect("every kind has a subject")
    }

    /// The kind arriving on `subject`, if any.
    pub fn kind_of(&self, subject: &str) -> Option<InputKind> {
        self.0.iter().find(|(_, s)| s == subject).map(|(kind, _)| *kind)
    }

    /// Every input subject, for the stream and the subscriptions.
    pub fn all(&self) -> Vec<String> {
        self.0.iter().map(|(_, subject)| subject.clone()).collect()
    }

    /// Each subject with every outcome its messages may be settled with.
    pub fn with_outcomes(&self) -> impl Iterator<Item = (&str, Vec<&'static str>)> {
        self.0.iter().map(|(kind, subject)| (subject.as_str(), kind.outcomes()))
    }
}

impl Default for Subjects {
    /// Each kind on its own name.
    fn default() -> Self {
        Self::new(|kind| kind.default_subject().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_found_by_its_subject_and_unknown_subjects_by_none() {
        let subjects = Subjects::new(|kind| format!("in.{}", kind.default_subject()));
        for kind in InputKind::ALL {
            assert_eq!(subjects.kind_of(subjects.of(kind)), Some(kind));
        }
        assert_eq!(subjects.kind_of("AlarmStatusChanged"), None);
        assert_eq!(subjects.all().len(), InputKind::ALL.len());
    }

    #[test]
    fn every_kind_may_end_refused_and_dead_lettered_besides_its_answers() {
        for kind in InputKind::ALL {
            let outcomes = kind.outcomes();
            assert!(outcomes.ends_with(&REJECTED), "{kind:?}: {outcomes:?}");
            assert!(outcomes.len() > REJECTED.len(), "{kind:?} has answers");
        }
        assert_eq!(
            InputKind::AlarmStatusChanged.outcomes(),
            ["applied", "stale", "duplicate", "invalid", "dead_lettered"]
        );
    }
}

//! What a port error says and the error underneath it (a driver's, a broker's), kept as
//! its `source` so a caller can log the whole chain or look for a cause.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A port error's message, and the error it came from, if any.
#[derive(Debug, Clone)]
pub struct Failure {
    message: String,
    cause: Option<Arc<dyn Error + Send + Sync>>,
}

impl Failure {
    /// A failure from `cause`, described by its own text.
    pub fn caused_by(cause: impl Error + Send + Sync + 'static) -> Self {
        Self {
            message: cause.to_string(),
            cause: Some(Arc::new(cause)),
        }
    }

    /// A failure from a boxed cause (what many clients return), described by its text.
    pub fn boxed(cause: Box<dyn Error + Send + Sync>) -> Self {
        Self {
            message: cause.to_string(),
            cause: Some(Arc::from(cause)),
        }
    }

    /// The same failure, with `cause` underneath.
    pub fn with_cause(mut self, cause: impl Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// An error and every error under it, as one line: `what: why: root cause`. A cause whose
/// text repeats the line so far (a [`Failure`] made from its cause says the same) is not
/// written twice. Logs print errors through it, so the cause is never lost.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = cause.source();
        }
        Ok(())
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self { message, cause: None }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_caused_by_a_driver_error_keeps_it_as_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        let failure = Failure::caused_by(io);
        assert_eq!(failure.to_string(), "disk full");
        let source = failure.source().expect("the cause is the source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert!(Failure::from("timed out").source().is_none());
    }

    #[test]
    fn a_chain_names_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        let failure = Failure::from("writing the alarm").with_cause(Failure::caused_by(io));
        assert_eq!(Chain(&failure).to_string(), "writing the alarm: disk full");
    }
}

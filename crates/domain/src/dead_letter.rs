//! Dead letters: input the intake refused for good, kept with why, and the port that
//! reads the latest of them back.

use super::failure::Failure;
use super::EventTime;
use async_trait::async_trait;

/// One refused message as it was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its place in the dead-letter log; later letters have greater sequences.
    pub sequence: u64,
    /// The subject the refused message came on, when the letter names it.
    pub subject: Option<String>,
    /// Why it was refused, when the letter says.
    pub reason: Option<String>,
    /// When it was dead-lettered.
    pub dead_lettered_at: EventTime,
    /// The refused message's payload, unchanged: any bytes, not necessarily UTF-8.
    pub payload: Vec<u8>,
}

impl DeadLetter {
    /// The payload as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }
}

/// Why the dead-letter log could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeadLetterError {
    /// The broker did not answer or refused for now; asking again later may succeed.
    #[error("the dead-letter log is unavailable: {0}")]
    Unavailable(#[source] Failure),
}

/// Reads dead letters back, newest first.
#[async_trait]
pub trait DeadLetterLog: Send + Sync + 'static {
    /// At most `limit` letters with a sequence below `before` (every letter when `None`),
    /// newest first. Letters removed from the log are skipped; a log that does not exist
    /// yet holds none.
    ///
    /// Errors: `Unavailable` when the broker cannot be asked.
    async fn latest(&self, before: Option<u64>, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError>;
}

//! The dead-letter log read back from its JetStream stream: by sequence, downward from the
//! stream's last one, each letter fetched by its sequence.

use super::dead_letter_publisher::{REASON_HEADER, SUBJECT_HEADER};
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::RawMessageErrorKind;
use async_nats::jetstream::{Context, ErrorCode};
use async_trait::async_trait;
use domain::dead_letter::{DeadLetter, DeadLetterError, DeadLetterLog};
use domain::failure::Failure;
use domain::EventTime;

/// Sequences a page may skip (removed letters) beyond the letters it returns, so one page
/// costs a bounded number of requests however sparse the stream is. Age and size limits
/// remove letters from the old end, which moves the first sequence and costs no request;
/// only letters deleted one by one leave gaps, and a page that meets more of them than
/// this in a row ends early.
const MAX_SKIPPED: u64 = 64;

/// The dead letters of one JetStream stream.
#[derive(Clone)]
pub struct NatsDeadLetterLog {
    js: Context,
    stream: String,
}

impl NatsDeadLetterLog {
    /// Reads `stream` (`DEAD_LETTER_STREAM`) through `js`.
    pub fn new(js: Context, stream: impl Into<String>) -> Self {
        Self {
            js,
            stream: stream.into(),
        }
    }
}

/// `Unavailable`, saying what was being read, the broker's error kept underneath.
fn unavailable(what: &str, error: impl std::error::Error + Send + Sync + 'static) -> DeadLetterError {
    DeadLetterError::Unavailable(Failure::from(format!("{what}: {error}")).with_cause(error))
}

/// A stored message as a dead letter; its headers name its origin and reason.
fn letter(message: StreamMessage) -> DeadLetter {
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_string());
    let nanos = i64::try_from(message.time.unix_timestamp_nanos()).unwrap_or(i64::MAX);
    DeadLetter {
        sequence: message.sequence,
        subject: header(SUBJECT_HEADER),
        reason: header(REASON_HEADER),
        dead_lettered_at: EventTime::from_nanos(nanos),
        payload: message.payload.to_vec(),
    }
}

#[async_trait]
impl DeadLetterLog for NatsDeadLetterLog {
    async fn latest(&self, before: Option<u64>, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
        // Getting the stream asks for its info: its first and last sequences come with it.
        let stream = match self.js.get_stream(&self.stream).await {
            Ok(stream) => stream,
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(api) if api.error_code() == ErrorCode::STREAM_NOT_FOUND => {
                    return Ok(Vec::new())
                }
                _ => return Err(unavailable("reading the dead-letter stream", e)),
            },
        };
        let state = &stream.cached_info().state;
        let mut sequence = before.map_or(state.last_sequence, |b| b.saturating_sub(1).min(state.last_sequence));
        let first = state.first_sequence.max(1);
        let mut budget = limit as u64 + MAX_SKIPPED;
        let mut out = Vec::with_capacity(limit);
        while out.len() < limit && sequence >= first && budget > 0 {
            budget -= 1;
            match stream.get_raw_message(sequence).await {
                Ok(message) => out.push(letter(message)),
                Err(e) if matches!(e.kind(), RawMessageErrorKind::NoMessageFound) => {}
                Err(e) => return Err(unavailable("reading a dead letter", e)),
            }
            sequence -= 1;
        }
        Ok(out)
    }
}

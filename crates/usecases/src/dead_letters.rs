//! The dead-letter use case: the latest refused messages, a page at a time, newest first,
//! for the API and the console alike.

use domain::dead_letter::{DeadLetter, DeadLetterError, DeadLetterLog};
use std::sync::Arc;

/// Letters per page when no limit is asked for.
pub const DEFAULT_PAGE: usize = 50;
/// The most letters one page holds.
pub const MAX_PAGE: usize = 200;

/// One page of dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterPage {
    /// Newest first.
    pub letters: Vec<DeadLetter>,
    /// The `before` of the next, older page; `None` when there is none.
    pub older: Option<u64>,
}

/// Reads the dead-letter log.
pub struct DeadLetterQueries {
    log: Arc<dyn DeadLetterLog>,
}

impl DeadLetterQueries {
    /// Over `log`.
    pub fn new(log: Arc<dyn DeadLetterLog>) -> Self {
        Self { log }
    }

    /// At most `limit` (clamped to `1..=MAX_PAGE`) letters below sequence `before`, newest
    /// first, and where the older page starts. One letter more is read than shown, so
    /// `older` is only offered when an older letter exists.
    pub async fn latest(&self, before: Option<u64>, limit: usize) -> Result<DeadLetterPage, DeadLetterError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut letters = self.log.latest(before, limit + 1).await?;
        let older = if letters.len() > limit {
            letters.truncate(limit);
            letters.last().map(|l| l.sequence)
        } else {
            None
        };
        Ok(DeadLetterPage { letters, older })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use domain::EventTime;

    /// Letters with sequences 1..=n, some removed.
    struct Log {
        sequences: Vec<u64>,
    }

    #[async_trait]
    impl DeadLetterLog for Log {
        async fn latest(&self, before: Option<u64>, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
            Ok(self
                .sequences
                .iter()
                .rev()
                .filter(|&&s| before.is_none_or(|b| s < b))
                .take(limit)
                .map(|&sequence| DeadLetter {
                    sequence,
                    subject: None,
                    reason: None,
                    dead_lettered_at: EventTime::from_nanos(0),
                    payload: Vec::new(),
                })
                .collect())
        }
    }

    fn sequences(page: &DeadLetterPage) -> Vec<u64> {
        page.letters.iter().map(|l| l.sequence).collect()
    }

    #[tokio::test]
    async fn pages_walk_back_to_the_oldest_letter_and_offer_no_empty_page() {
        let queries = DeadLetterQueries::new(Arc::new(Log {
            sequences: vec![1, 2, 4, 5, 6],
        }));
        let first = queries.latest(None, 2).await.unwrap();
        assert_eq!((sequences(&first), first.older), (vec![6, 5], Some(5)));
        let second = queries.latest(first.older, 2).await.unwrap();
        assert_eq!((sequences(&second), second.older), (vec![4, 2], Some(2)));
        let last = queries.latest(second.older, 2).await.unwrap();
        assert_eq!((sequences(&last), last.older), (vec![1], None));
        let exact = queries.latest(Some(3), 2).await.unwrap();
        assert_eq!((sequences(&exact), exact.older), (vec![2, 1], None));
    }
}

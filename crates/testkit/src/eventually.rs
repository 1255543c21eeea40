//! Waiting for something a test cannot await: ask again, a little less often each time,
//! until it holds or a deadline passes.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The first pause between two attempts; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Long enough not to load a server that is electing a leader or catching up, short
/// enough that a wait of a few seconds is not stretched by much.
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// What one attempt of [`eventually`] yields: a value, or why there is none yet.
pub trait Attempt {
    /// What the wait returns once it holds.
    type Value;
    /// The value, or what the last attempt saw instead (printed if the wait fails).
    fn settle(self) -> Result<Self::Value, String>;
}

impl<T> Attempt for Option<T> {
    type Value = T;
    fn settle(self) -> Result<T, String> {
        self.ok_or_else(|| "nothing yet".to_string())
    }
}

impl<T, E: Display> Attempt for Result<T, E> {
    type Value = T;
    fn settle(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Calls `probe` until it yields `Some` or `Ok`, and returns that value; panics once
/// `within` has passed, saying it waited for `what` and what the last attempt yielded.
///
/// The pause between attempts starts short and grows, so a condition that holds soon is
/// seen soon and a long wait does not hammer what it asks. A probe that may hang (a
/// server that stopped answering) should bound itself with a timeout.
pub async fn eventually<A, F, Fut>(what: impl Display, within: Duration, mut probe: F) -> A::Value
where
    A: Attempt,
    F: FnMut() -> Fut,
    Fut: Future<Output = A>,
{
    let deadline = Instant::now() + within;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match probe().await.settle() {
            Ok(value) => return value,
            Err(last) => last,
        };
        let now = Instant::now();
        if now >= deadline {
            panic!("waited {within:?} for {what}; the last attempt saw: {last}");
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_value_a_probe_yields() {
        let calls = AtomicU32::new(0);
        let value = eventually("the third call", Duration::from_secs(5), || async {
            let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
            (n == 3).then_some(n)
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "for a value that never comes; the last attempt saw: still 7")]
    async fn panics_with_what_it_waited_for_and_the_last_answer() {
        eventually("a value that never comes", Duration::from_millis(50), || async {
            Err::<(), _>("still 7")
        })
        .await;
    }
}

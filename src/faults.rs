//! Fault injection for the fault tests: a process that dies the instant a digest is
//! published, before the delivery is recorded (the window the prepared-digest outbox covers).

use async_trait::async_trait;
use domain::ports::{DigestPublisher, PublishError};
use domain::{Digest, DigestId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Publishes through `inner`, then aborts the process (no destructors, no flushing, like
/// `kill -9`) once `after` digests have been published.
pub struct CrashAfterPublish {
    inner: Arc<dyn DigestPublisher>,
    after: u64,
    published: AtomicU64,
}

impl CrashAfterPublish {
    /// Wraps `inner` when a crash is asked for; `inner` itself otherwise.
    pub fn wrap(inner: Arc<dyn DigestPublisher>, after: Option<u64>) -> Arc<dyn DigestPublisher> {
        match after {
            Some(after) => Arc::new(Self {
                inner,
                after,
                published: AtomicU64::new(0),
            }),
            None => inner,
        }
    }
}

#[async_trait]
impl DigestPublisher for CrashAfterPublish {
    async fn publish(&self, digest: &Digest, id: &DigestId) -> Result<(), PublishError> {
        self.inner.publish(digest, id).await?;
        if self.published.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            eprintln!("fault injection: aborting after publishing digest {id}");
            std::process::abort();
        }
        Ok(())
    }
}

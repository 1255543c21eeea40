//! The one place background tasks are started and joined: each runs until the shared stop
//! token is cancelled, and shutdown waits for every one of them (within a bound) before
//! NATS is drained, so no task is left running past the process's last acknowledgement.

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A task's name and how it ended.
type Ended = (&'static str, anyhow::Result<()>);

/// Starts named tasks and joins them.
pub struct Supervisor {
    tasks: JoinSet<Ended>,
    stop: CancellationToken,
}

impl Supervisor {
    /// A supervisor whose tasks stop when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            tasks: JoinSet::new(),
            stop,
        }
    }

    /// The token every task watches.
    pub fn stop(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Starts `task` under `name`; it is expected to run until the stop token is cancelled.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.tasks.spawn(async move { (name, task.await) });
    }

    /// Starts a task that cannot fail.
    pub fn spawn_infallible(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.spawn(name, async move {
            task.await;
            Ok(())
        });
    }

    /// Waits until a task ends before the stop: only a task that cannot go on does, and
    /// the service must not run on without it. Pending forever when there are no tasks.
    pub async fn first_ended(&mut self) -> (&'static str, anyhow::Error) {
        match self.tasks.join_next().await {
            Some(Ok((name, Err(e)))) => (name, e),
            Some(Ok((name, Ok(())))) => (name, anyhow::anyhow!("{name} ended on its own")),
            Some(Err(e)) => ("a task", anyhow::Error::new(e).context("a background task panicked")),
            None => std::future::pending().await,
        }
    }

    /// Cancels the stop token and joins every task, giving them `within` in all; the tasks
    /// still running then are aborted and named. Returns the first error a task ended with.
    pub async fn shut_down(mut self, within: Duration) -> Option<anyhow::Error> {
        self.stop.cancel();
        let mut first_error = None;
        let joined = tokio::time::timeout(within, async {
            while let Some(joined) = self.tasks.join_next().await {
                match joined {
                    Ok((_, Ok(()))) => {}
                    Ok((name, Err(e))) => {
                        tracing::error!(task = name, error = format!("{e:#}"), "a task stopped with an error");
                        first_error.get_or_insert(e);
                    }
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => {
                        tracing::error!(error = %e, "a task panicked");
                    }
                }
            }
        })
        .await;
        if joined.is_err() {
            tracing::warn!(
                tasks = self.tasks.len(),
                "tasks still running after the shutdown timeout; aborting them"
            );
            self.tasks.shutdown().await;
        }
        first_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutting_down_joins_every_task_after_it_saw_the_stop() {
        let mut tasks = Supervisor::new(CancellationToken::new());
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        for name in ["a", "b"] {
            let (stop, done) = (tasks.stop(), done_tx.clone());
            tasks.spawn_infallible(name, async move {
                stop.cancelled().await;
                done.send(name).unwrap();
            });
        }
        assert!(tasks.shut_down(Duration::from_secs(5)).await.is_none());
        let mut finished = vec![done_rx.recv().await.unwrap(), done_rx.recv().await.unwrap()];
        finished.sort();
        assert_eq!(finished, ["a", "b"]);
    }

    #[tokio::test]
    async fn a_task_that_fails_before_the_stop_is_reported_with_its_name() {
        let mut tasks = Supervisor::new(CancellationToken::new());
        let stop = tasks.stop();
        tasks.spawn_infallible("steady", async move { stop.cancelled().await });
        tasks.spawn("intake", async { Err(anyhow::anyhow!("streams refused")) });
        let (name, error) = tasks.first_ended().await;
        assert_eq!((name, error.to_string().as_str()), ("intake", "streams refused"));
        assert!(tasks.shut_down(Duration::from_secs(5)).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_the_stop_is_aborted_after_the_bound() {
        let mut tasks = Supervisor::new(CancellationToken::new());
        tasks.spawn_infallible("stuck", std::future::pending());
        assert!(tasks.shut_down(Duration::from_secs(1)).await.is_none());
    }
}

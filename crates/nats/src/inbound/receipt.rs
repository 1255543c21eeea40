//! Settling a message with the broker once its fate is known: ack after commit, terminate
//! a reject, extend while retrying, give back at shutdown.

use async_nats::jetstream::{self, AckKind};
use async_nats::{Client, Subject};
use domain::failure::Chain;

/// How a message is settled with the broker once its fate is known.
pub enum Receipt {
    /// Acknowledged to the JetStream consumer.
    JetStream(Box<jetstream::Message>),
    /// Core NATS: answered on the reply subject, when the producer asked for one.
    Core {
        /// For replying.
        client: Client,
        /// The producer's inbox, if it used request/reply.
        reply: Option<Subject>,
    },
}

impl Receipt {
    pub(super) async fn ack(&self, outcome: &str) {
        match self {
            Receipt::JetStream(msg) => {
                if let Err(e) = msg.ack().await {
                    tracing::warn!(error = %Chain(&*e), "ack failed; the message will be redelivered and found a duplicate");
                }
            }
            Receipt::Core {
                client,
                reply: Some(reply),
            } => {
                let body = format!(r#"{{"ok":true,"outcome":"{outcome}"}}"#);
                let _ = client.publish(reply.clone(), body.into()).await;
            }
            Receipt::Core { reply: None, .. } => {}
        }
    }

    pub(super) async fn reject(&self, reason: &str) {
        match self {
            Receipt::JetStream(msg) => {
                let _ = msg.ack_with(AckKind::Term).await;
            }
            Receipt::Core {
                client,
                reply: Some(reply),
            } => {
                let body = serde_json::json!({ "ok": false, "error": reason }).to_string();
                let _ = client.publish(reply.clone(), body.into()).await;
            }
            Receipt::Core { reply: None, .. } => {}
        }
    }

    /// Asks the server to wait longer before redelivering (JetStream only).
    pub(super) async fn in_progress(&self) {
        if let Receipt::JetStream(msg) = self {
            let _ = msg.ack_with(AckKind::Progress).await;
        }
    }

    /// Hands the message back for redelivery, at shutdown (JetStream only; a core message
    /// has no redelivery and its producer must retry).
    pub(super) async fn give_back(&self) {
        if let Receipt::JetStream(msg) = self {
            let _ = msg.ack_with(AckKind::Nak(None)).await;
        }
    }

    /// Hands the message back to be redelivered after `delay`; false when there is no
    /// redelivery (core NATS), so the caller must settle it otherwise.
    pub(super) async fn retry_later(&self, delay: std::time::Duration) -> bool {
        match self {
            Receipt::JetStream(msg) => {
                let _ = msg.ack_with(AckKind::Nak(Some(delay))).await;
                true
            }
            Receipt::Core { .. } => false,
        }
    }

    /// How many times the broker has delivered this message (1 for core NATS).
    pub(super) fn deliveries(&self) -> i64 {
        match self {
            Receipt::JetStream(msg) => msg.info().map(|i| i.delivered).unwrap_or(1),
            Receipt::Core { .. } => 1,
        }
    }

    pub(super) fn dedup_id(&self) -> Option<String> {
        match self {
            Receipt::JetStream(msg) => msg.info().ok().map(|i| format!("{}-{}", i.stream, i.stream_sequence)),
            Receipt::Core { .. } => None,
        }
    }

    /// A stable identity of a stored request: its stream sequence and publish time, the
    /// same on every redelivery and distinct even if the stream is ever recreated.
    pub(super) fn request_id(&self) -> Option<String> {
        match self {
            Receipt::JetStream(msg) => msg
                .info()
                .ok()
                .map(|i| format!("{}@{}", i.stream_sequence, i.published.unix_timestamp_nanos())),
            Receipt::Core { .. } => None,
        }
    }
}

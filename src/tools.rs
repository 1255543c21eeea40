//! `pub` and `sub`: the two NATS CLI commands the README's walkthrough needs, for machines
//! without the `nats` CLI.

use crate::config::{PubArgs, SubArgs};
use futures::StreamExt;
use nats::connect::connect;

/// Publishes one message and flushes.
pub async fn publish(args: PubArgs) -> anyhow::Result<()> {
    let (client, _) = connect(&args.nats.connect_settings(), "alarm-digest-pub").await?;
    client
        .publish(args.subject.clone(), args.payload.into_bytes().into())
        .await?;
    client.flush().await?;
    println!("Published to {}", args.subject);
    Ok(())
}

/// Prints each message of a subject on one line.
pub async fn subscribe(args: SubArgs) -> anyhow::Result<()> {
    let (client, _) = connect(&args.nats.connect_settings(), "alarm-digest-sub").await?;
    let mut sub = client.subscribe(args.subject.clone()).await?;
    client.flush().await?;
    eprintln!("Listening on {}", args.subject);
    let mut seen = 0;
    while let Some(msg) = sub.next().await {
        println!("[{}] {}", msg.subject, String::from_utf8_lossy(&msg.payload));
        seen += 1;
        if args.count.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(())
}

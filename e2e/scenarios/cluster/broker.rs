//! nats-server alone, with raw async-nats and no service: a stream raised from one replica
//! to three while the node holding the only copy is lost. The reproduction behind the
//! limit in OPERATIONS.md and the service's wait for its streams' copies at start.

use super::*;
use async_nats::jetstream::stream;
use testkit::nats_cluster::{replicas_current, stream_info};

const RAISED_STREAM: &str = "REPLICA_RAISE";
/// Enough data that copying it to the new replicas takes a moment: 60,000 messages of 1 KiB.
const MESSAGES: u64 = 60_000;
const BODY: usize = 1_024;
/// How long the lost copy's node stays away: longer than the elections the other scenarios
/// measure (6–8 s under load), so a leader that can be elected is.
const AWAY: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_raised_to_three_replicas_loses_no_acknowledged_message_when_its_only_copy_is_killed_at_once() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut cluster = NatsCluster::start(3).await;
    let servers: Vec<String> = (0..cluster.size()).map(|i| cluster.url(i)).collect();
    let client = async_nats::ConnectOptions::new()
        .ping_interval(Duration::from_secs(1))
        .connect(servers)
        .await
        .expect("a client on every node");
    let js = async_nats::jetstream::new(client);

    let mut config = stream::Config {
        name: RAISED_STREAM.to_string(),
        subjects: vec!["raise.>".to_string()],
        storage: stream::StorageType::File,
        num_replicas: 1,
        ..Default::default()
    };
    js.create_stream(config.clone()).await.expect("an R1 stream");
    let body = bytes::Bytes::from(vec![b'x'; BODY]);
    // A new stream's subjects reach the other nodes over the routes a moment later; until
    // then a publish through another node finds no responder. No event says so: publish
    // the first message until it is stored, under an id, so a retry of one stored is dropped.
    eventually("the new stream to store a first message", PATIENCE, || async {
        let first = async_nats::jetstream::message::PublishMessage::build()
            .payload(body.clone())
            .message_id("raise-0");
        let ack = js.send_publish("raise.0", first).await.map_err(|e| e.to_string())?;
        ack.await.map(drop).map_err(|e| e.to_string())
    })
    .await;
    let mut acks = Vec::with_capacity(500);
    for i in 1..MESSAGES {
        acks.push(js.publish(format!("raise.{i}"), body.clone()).await.expect("sent"));
        if acks.len() == 500 || i + 1 == MESSAGES {
            for ack in acks.drain(..) {
                ack.await.expect("acknowledged");
            }
        }
    }
    let only_copy = cluster.wait_leader(&js, RAISED_STREAM, PATIENCE).await;

    // Raised to three, as a replica with STREAM_REPLICAS=3 does to a stream it finds at one.
    config.num_replicas = 3;
    js.update_stream(config).await.expect("raised to 3 replicas");
    let raised = Instant::now();
    // Replication has no event a client can await; ask until stream info says it is done.
    eventually("stream info to report 3 current replicas", PATIENCE, || async {
        let info = stream_info(&js, RAISED_STREAM).await?;
        if replicas_current(&info) {
            Ok(())
        } else {
            Err(format!(
                "replicas not current yet: {:?}",
                info.cluster.map(|c| c.replicas)
            ))
        }
    })
    .await;
    let reported_after = raised.elapsed();

    // The node with the only whole copy is lost the moment the others are reported current;
    // what each of them holds then is all a new leader could have.
    let killed = Instant::now();
    cluster.kill(only_copy);
    let mut copies = Vec::new();
    for node in (0..cluster.size()).filter(|n| *n != only_copy) {
        copies.push((
            cluster.name(node).to_string(),
            cluster.own_last_sequence(node, RAISED_STREAM).await,
        ));
    }
    let mut away_leader = None;
    while killed.elapsed() < AWAY {
        if let Ok(state) = cluster.stream_state(&js, RAISED_STREAM).await {
            if let Some(leader) = state.leader.filter(|l| *l != only_copy) {
                away_leader = Some((leader, killed.elapsed(), state.last_sequence));
                break;
            }
        }
        // An election has no event a client can await; ask again shortly.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.restart(only_copy);
    let leader = cluster.wait_stream_current(&js, RAISED_STREAM, PATIENCE).await;
    let state = cluster.stream_state(&js, RAISED_STREAM).await.expect("stream info");
    let mut stream = js.get_stream(RAISED_STREAM).await.expect("the stream");
    let messages = stream.info().await.expect("stream info").state.messages;

    let while_away = match away_leader {
        Some((node, after, last)) => format!(
            "{} led after {:.1}s holding up to sequence {last}",
            cluster.name(node),
            after.as_secs_f64()
        ),
        None => format!("no node led for the {}s it was away", AWAY.as_secs()),
    };
    println!(
        "replica raise (nats-server {}): {MESSAGES} messages of {BODY} bytes on {}; stream info reported \
         both new replicas current {:.0} ms after the raise; {} killed then, when the others held {:?} of \
         {MESSAGES}: {while_away}; \
         once it was back, {} led with {messages} messages",
        nats_server_version(),
        cluster.name(only_copy),
        reported_after.as_secs_f64() * 1000.0,
        cluster.name(only_copy),
        copies,
        cluster.name(leader),
    );
    if let Some((node, _, last)) = away_leader {
        assert_eq!(
            last,
            MESSAGES,
            "{} led while the only whole copy was away, holding {last} of {MESSAGES} acknowledged messages",
            cluster.name(node)
        );
    }
    assert_eq!(
        messages, MESSAGES,
        "every acknowledged message is in the stream once its copy is back"
    );
    assert_eq!(state.last_sequence, MESSAGES);
}

//! Stream leaders lost under load: killed (SIGKILL) or paused past an election (SIGSTOP,
//! then SIGCONT, so the old leader wakes believing it still leads).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_killing_the_input_and_digest_stream_leaders_loses_nothing_and_doubles_nothing() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Mongo).await;
    // First as a user coming from a single server: streams with one replica each ...
    let mut first = Replica::start_with(&stage.env, &[("STREAM_REPLICAS", "1")]).await;
    first.terminate().await;
    assert_eq!(stage.replicas_of(INPUT_STREAM).await, 1);
    // ... then STREAM_REPLICAS=3: every stream is brought to three replicas at start.
    let a = Replica::start(&stage.env).await;
    let b = Replica::start(&stage.env).await;
    for stream in STREAMS {
        assert_eq!(stage.replicas_of(stream).await, 3, "{stream} has 3 replicas");
    }
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster leaders", 3_000);
    let watch = IntakeWatch::start(vec![a.http_port, b.http_port]);
    let traffic = SteadyTraffic::start(
        stage.bus.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
        stage.cluster.monitor_urls(),
    );
    let started = Instant::now();

    let mut kills = Vec::new();
    for (at, stream) in [(1_000, INPUT_STREAM), (2_000, DIGEST_STREAM)] {
        traffic.wait_published(at, PATIENCE).await;
        let leader = stage.cluster.wait_stream_current(&stage.bus.js, stream, PATIENCE).await;
        let killed = Instant::now();
        stage.cluster.kill(leader);
        let next = stage.cluster.wait_leader(&stage.bus.js, stream, PATIENCE).await;
        let election = killed.elapsed();
        stage.cluster.restart(leader);
        stage.cluster.wait_stream_current(&stage.bus.js, stream, PATIENCE).await;
        println!(
            "cluster leaders: killed {} leading {stream}; {} leads after {:.1}s; the node caught up after {:.1}s",
            stage.cluster.name(leader),
            stage.cluster.name(next),
            election.as_secs_f64(),
            killed.elapsed().as_secs_f64()
        );
        kills.push((stream, killed));
    }
    let report = traffic.finish().await;
    // Stalls count while traffic flows: after it, intake has nothing to do.
    let ended = Instant::now();
    let digest_count = stage
        .final_check(&digests, &model, report.requests, w.seed, &[a.http_port, b.http_port])
        .await;
    let marks: Vec<Instant> = kills.iter().map(|(_, at)| *at).collect();
    let stalls: Vec<String> = kills
        .iter()
        .zip(watch.stalls_after(&marks, ended))
        .map(|((stream, _), stall)| format!("{:.1}s after killing the {stream} leader", stall.as_secs_f64()))
        .collect();
    println!(
        "cluster leaders (nats-server {}): {} events and {} requests in {:.1}s, {} digests; \
         longest without intake: {}; {} publishes retried (longest {:.1}s); \
         {}",
        nats_server_version(),
        report.events,
        report.requests,
        started.elapsed().as_secs_f64(),
        digest_count,
        stalls.join(", "),
        report.retries,
        report.longest_publish.as_secs_f64(),
        delivery_figures(&[&a, &b]).await,
    );
}

/// Events the new leader takes while the old one is paused: what the old one misses and
/// must not overrule when it wakes.
const PAUSED_FOR_EVENTS: usize = 800;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_the_input_stream_leader_past_an_election_under_load_loses_nothing_and_doubles_nothing() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Mongo).await;
    let a = Replica::start(&stage.env).await;
    let b = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster pause", 3_000);
    let watch = IntakeWatch::start(vec![a.http_port, b.http_port]);
    let traffic = SteadyTraffic::start(
        stage.bus.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
        stage.cluster.monitor_urls(),
    );
    let started = Instant::now();
    traffic.wait_published(1_000, PATIENCE).await;
    let leader = stage
        .cluster
        .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
        .await;
    let paused = Instant::now();
    stage.cluster.pause(leader);
    // Paused until another node leads (an election seen) and has taken a share of the
    // traffic the paused one knows nothing of.
    let next = stage.cluster.wait_leader(&stage.bus.js, INPUT_STREAM, PATIENCE).await;
    let election = paused.elapsed();
    let at_election = traffic.published();
    traffic.wait_published(at_election + PAUSED_FOR_EVENTS, PATIENCE).await;
    let pause = paused.elapsed();
    stage.cluster.resume(leader);
    stage
        .cluster
        .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
        .await;
    let caught_up = paused.elapsed();
    println!(
        "cluster pause: paused {} leading {INPUT_STREAM}; {} leads after {:.1}s; resumed after {:.1}s \
         ({PAUSED_FOR_EVENTS} events later); caught up {:.1}s after the pause began",
        stage.cluster.name(leader),
        stage.cluster.name(next),
        election.as_secs_f64(),
        pause.as_secs_f64(),
        caught_up.as_secs_f64()
    );
    let report = traffic.finish().await;
    let ended = Instant::now();
    let digest_count = stage
        .final_check(&digests, &model, report.requests, w.seed, &[a.http_port, b.http_port])
        .await;
    println!(
        "cluster pause (nats-server {}): {} events and {} requests in {:.1}s, {} digests; \
         longest without intake {:.1}s after the pause; {} publishes retried (longest {:.1}s); {}",
        nats_server_version(),
        report.events,
        report.requests,
        started.elapsed().as_secs_f64(),
        digest_count,
        watch.longest_stall(paused, ended).as_secs_f64(),
        report.retries,
        report.longest_publish.as_secs_f64(),
        delivery_figures(&[&a, &b]).await,
    );
}

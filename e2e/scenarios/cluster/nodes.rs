//! Whole nodes lost and back: a rolling restart, quorum lost and regained, a replica's own
//! node lost, and more stream replicas than the cluster has nodes.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_node_under_load_loses_nothing_and_readiness_returns_after_each() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster rolling restart", 4_000);
    let watch = IntakeWatch::start(vec![replica.http_port]);
    let traffic = SteadyTraffic::start(
        stage.bus.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
        stage.cluster.monitor_urls(),
    );
    let mut figures = Vec::new();
    for node in 0..stage.cluster.size() {
        traffic.wait_published(1_000 * (node + 1), PATIENCE).await;
        let stopped = Instant::now();
        stage.cluster.terminate(node);
        stage.cluster.restart(node);
        stage
            .cluster
            .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
            .await;
        let rejoined = stopped.elapsed();
        replica.wait_readiness(true, PATIENCE).await;
        figures.push((
            stage.cluster.name(node).to_string(),
            stopped,
            rejoined,
            stopped.elapsed(),
        ));
    }
    let report = traffic.finish().await;
    let ended = Instant::now();
    let digest_count = stage
        .final_check(&digests, &model, report.requests, w.seed, &[replica.http_port])
        .await;
    let marks: Vec<Instant> = figures.iter().map(|f| f.1).collect();
    let per_node: Vec<String> = figures
        .iter()
        .zip(watch.stalls_after(&marks, ended))
        .map(|((name, _, rejoined, ready), stall)| {
            format!(
                "{name}: rejoined {:.1}s, replica ready {:.1}s, longest without intake {:.1}s",
                rejoined.as_secs_f64(),
                ready.as_secs_f64(),
                stall.as_secs_f64()
            )
        })
        .collect();
    println!(
        "cluster rolling restart (nats-server {}): {} events, {} requests, {} digests; {}; \
         {} publishes retried (the longest confirmed after {:.1}s); {}",
        nats_server_version(),
        report.events,
        report.requests,
        digest_count,
        per_node.join("; "),
        report.retries,
        report.longest_publish.as_secs_f64(),
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_two_of_three_nodes_refuses_publishes_holds_work_and_resumes_with_quorum() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    let replica = Replica::start(&stage.env).await;
    let digests = DigestLog::from_stream(&stage.bus).await;
    let (w, events, model) = seeded("cluster quorum", 3_000);
    let (before, after) = events.split_at(2_000);
    stage.bus.publish_events(&before[..1_000]).await;
    stage.bus.wait_drained(PATIENCE).await;
    // Stored but perhaps not yet processed when quorum goes.
    stage.bus.publish_events(&before[1_000..]).await;
    let lost = Instant::now();
    stage.cluster.kill(1);
    stage.cluster.kill(2);

    let probe = &after[0];
    let refused = async {
        stage
            .bus
            .js
            .publish("AlarmStatusChanged", probe.to_json().into())
            .await?
            .await
            .map_err(async_nats::Error::from)
    };
    let refused = tokio::time::timeout(Duration::from_secs(20), refused).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "a publish without quorum is refused or times out, not confirmed: {refused:?}"
    );
    // A consumer leader keeps answering from its own state for a few seconds before it
    // steps down for want of quorum; then the replica reports JetStream unavailable.
    replica
        .wait_readyz("not ready for want of JetStream", PATIENCE, |status, body| {
            status == 503 && body.contains("\"jetstream\":\"unavailable\"")
        })
        .await;
    let not_ready = lost.elapsed();

    let back = Instant::now();
    stage.cluster.restart(1);
    stage.cluster.restart(2);
    stage
        .cluster
        .wait_stream_current(&stage.bus.js, INPUT_STREAM, PATIENCE)
        .await;
    replica.wait_readiness(true, PATIENCE).await;
    let ready_after = back.elapsed();
    let outage = lost.elapsed();
    // The refused event is published again (it may also have landed: a duplicate is harmless).
    stage.bus.publish_events_through_outages(after, PATIENCE).await;
    let digest_count = stage
        .final_check(&digests, &model, 0, w.seed, &[replica.http_port])
        .await;
    println!(
        "cluster quorum (nats-server {}): not ready {:.1}s after losing 2 of 3 nodes; ready again {:.1}s \
         after restarting them ({:.1}s from loss to ready); {} events, {} digests; \
         {}",
        nats_server_version(),
        not_ready.as_secs_f64(),
        ready_after.as_secs_f64(),
        outage.as_secs_f64(),
        model.events_len(),
        digest_count,
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_node_is_lost_reconnects_to_a_node_the_cluster_advertised_and_resumes() {
    let _one_at_a_time = HEAVY.lock().await;
    let mut stage = ClusterStage::new(StoreKind::Sqlite).await;
    // Its only seed is node 1: the others it knows from what the cluster advertises.
    let replica = Replica::start_with(&stage.env, &[("NATS_URL", &stage.cluster.url(0))]).await;
    let producers = TestBus::connect(&format!("{},{}", stage.cluster.url(1), stage.cluster.url(2))).await;
    let digests = DigestLog::from_stream(&producers).await;
    let (w, events, model) = seeded("cluster partition", 2_000);
    let watch = IntakeWatch::start(vec![replica.http_port]);
    let traffic = SteadyTraffic::start(
        producers.js.clone(),
        events,
        model.users(),
        REQUEST_EVERY,
        RATE,
        PATIENCE,
        stage.cluster.monitor_urls(),
    );
    traffic.wait_published(700, PATIENCE).await;
    let cut = Instant::now();
    stage.cluster.kill(0);
    let reconnected = loop {
        if replica.metric("alarm_digest_nats_reconnects_total").await >= 1.0 {
            break cut.elapsed();
        }
        assert!(
            cut.elapsed() < PATIENCE,
            "the replica never reconnected to a surviving node"
        );
        // The reconnect shows only in the replica's metrics; poll them.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    traffic.wait_published(1_400, PATIENCE).await;
    replica.wait_readiness(true, PATIENCE).await;
    let ready = cut.elapsed();
    let resumed_by = Instant::now();
    let report = traffic.finish().await;
    stage.cluster.restart(0);
    stage.bus = producers;
    let digest_count = stage
        .final_check(&digests, &model, report.requests, w.seed, &[replica.http_port])
        .await;
    println!(
        "cluster partition (nats-server {}): the replica's node lost; reconnected after {:.2}s, ready \
         (checked) {:.1}s after; longest without intake {:.1}s; {} events, {} requests, {} digests; \
         {} NATS reconnects; {}",
        nats_server_version(),
        reconnected.as_secs_f64(),
        ready.as_secs_f64(),
        watch
            .longest_stall(cut, resumed_by.max(cut + Duration::from_secs(1)))
            .as_secs_f64(),
        report.events,
        report.requests,
        digest_count,
        replica.metric("alarm_digest_nats_reconnects_total").await,
        delivery_figures(&[&replica]).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_replicas_beyond_the_cluster_stop_the_service_at_start_with_a_clear_error() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_alarm-digest"));
    cmd.arg("serve")
        .env("NATS_URL", nats.url())
        .env("STORE_URL", format!("sqlite://{}", dir.path().join("a.db").display()))
        .env("HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("STREAM_REPLICAS", "3")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let out = tokio::time::timeout(PATIENCE, cmd.output())
        .await
        .expect("the service stops by itself instead of retrying forever")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "a failed start exits non-zero: {text}");
    assert!(
        text.contains("STREAM_REPLICAS=3 needs a JetStream cluster of at least 3 servers"),
        "{text}"
    );
}

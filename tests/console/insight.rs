//! The Statistics page against `GET /v1/stats` for the same filter, with its three charts,
//! and the Dead letters page showing input refused over NATS, hostile payloads as text.

use crate::browser::Chromedriver;
use crate::stage::{event, Stage};
use fantoccini::Locator;
use serde_json::{json, Value};

/// A status change whose status is a script and quotes: refused, and shown as text.
const HOSTILE: &str =
    r#"{"AlarmID":"x","UserID":"u","Status":"<script>alert(1)</script>\"'","ChangedAt":"2026-01-01T00:00:00Z"}"#;

/// `2026-01-01T00:MM:SSZ`, as [`event`] stamps `second`.
fn at(second: u32) -> String {
    format!("2026-01-01T00:{:02}:{:02}Z", second / 60, second % 60)
}

/// The API's summary as the page shows it: count, min, mean, p50, p90, max.
fn api_summary(summary: &Value) -> Vec<f64> {
    ["count", "min", "mean", "p50", "p90", "max"]
        .iter()
        .map(|k| summary[k].as_f64().unwrap())
        .collect()
}

/// The page's row of `class`: its count, then each duration's exact seconds.
async fn page_summary(browser: &crate::browser::Browser, class: &str) -> Vec<f64> {
    let script = format!(
        "const row = document.querySelector('table.response tr.{class}');
         return [Number(row.querySelector('td.count').innerText),
                 ...[...row.querySelectorAll('data')].map(d => Number(d.value))];"
    );
    serde_json::from_value(browser.eval(&script).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_shows_the_apis_counts_and_response_times_for_a_service_with_three_charts() {
    let mut stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let base = stage.base();
    stage
        .publish(
            &[
                event("u1", "a1", "WARNING", 0, "Disk full", "storage"),
                event("u1", "a1", "CLEARED", 60, "Disk full", "storage"),
                event("u1", "a2", "CRITICAL", 10, "Disk slow", "storage"),
                event("u1", "a2", "CLEARED", 1210, "Disk slow", "storage"),
                event("u1", "a3", "WARNING", 20, "CPU hot", "compute"),
                event("u2", "b1", "WARNING", 40, "Disk old", "storage"),
            ],
            None,
        )
        .await;
    for (user, alarm, second) in [("u1", "a1", 30), ("u1", "a2", 130), ("u2", "b1", 50), ("u1", "a3", 25)] {
        let status = stage
            .post(
                &format!("/v1/users/{user}/alarms/{alarm}/ack"),
                &json!({ "AckedAt": at(second) }),
            )
            .await;
        assert_eq!(status, 201, "{user}/{alarm}");
    }

    // The filter typed into the form is the page's query string, and the figures are the API's.
    browser.client.goto(&format!("{base}/stats")).await.unwrap();
    assert_eq!(browser.client.title().await.unwrap(), "Statistics · alarm-digest");
    browser.type_into(Locator::Id("s-service"), "storage").await;
    browser.type_into(Locator::Id("s-since"), "2026-01-01T00:00").await;
    browser.click(Locator::Css("form.filters button")).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css("#s-service[value='storage']"))
        .await
        .unwrap();
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(
        url.query(),
        Some("user_id=&service=storage&since=2026-01-01T00%3A00&until=")
    );
    let api = stage
        .get("/v1/stats?service=storage&since=2026-01-01T00:00:00Z", None)
        .await;
    assert_eq!(api["episodes"], 3, "{api}");
    let by_status = browser
        .eval(
            "return Object.fromEntries([...document.querySelectorAll('table.by-status tr')]
                .map(tr => [tr.dataset.status, Number(tr.querySelector('td.count').innerText)]));",
        )
        .await;
    assert_eq!(by_status, api["alarms"]);
    let by_lifecycle = browser
        .eval(
            "return Object.fromEntries([...document.querySelectorAll('table.by-lifecycle tr')]
                .map(tr => [tr.dataset.lifecycle, Number(tr.querySelector('td.count').innerText)]));",
        )
        .await;
    assert_eq!(by_lifecycle, api["lifecycle"]);
    assert_eq!(
        page_summary(&browser, "mtta").await,
        api_summary(&api["time_to_acknowledge"])
    );
    assert_eq!(
        page_summary(&browser, "mttr").await,
        api_summary(&api["time_to_resolve"])
    );
    assert_eq!(
        api_summary(&api["time_to_resolve"]),
        [2.0, 60.0, 630.0, 60.0, 1200.0, 1200.0]
    );

    // Three charts, each an image with a title, its bars counting what the API counts.
    let charts = browser
        .eval(
            "return [...document.querySelectorAll('figure.chart')].map(f => {
                const svg = f.querySelector('svg');
                return [f.id, svg.getAttribute('role'), svg.querySelector('title').textContent.length > 0,
                        [...svg.querySelectorAll('rect.bar')].map(r => Number(r.dataset.count)),
                        f.querySelectorAll('details table tbody tr').length];
            });",
        )
        .await;
    let bucket_counts = |field: &str| -> Vec<u64> {
        api[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .collect()
    };
    let hours: Vec<u64> = api["opened_per_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["count"].as_u64().unwrap())
        .collect();
    assert_eq!(hours, [3]);
    assert_eq!(
        charts,
        json!([
            [
                "chart-acknowledge",
                "img",
                true,
                bucket_counts("time_to_acknowledge_buckets"),
                7
            ],
            [
                "chart-resolve",
                "img",
                true,
                bucket_counts("time_to_resolve_buckets"),
                7
            ],
            ["chart-opened", "img", true, hours, 1],
        ])
    );
    assert_eq!(bucket_counts("time_to_resolve_buckets"), [0, 1, 0, 1, 0, 0, 0]);
    browser.screenshots("stats").await;
    browser
        .eval("document.getElementById('chart-acknowledge').scrollIntoView(); return null")
        .await;
    browser.screenshots("stats-charts").await;

    // A malformed window is the API's problem, on the page.
    browser.client.goto(&format!("{base}/stats?since=later")).await.unwrap();
    let detail = browser
        .eval("return document.querySelector('dd.detail').innerText")
        .await;
    assert!(detail.as_str().unwrap().starts_with("since:"), "{detail}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dead_letters_page_shows_refused_input_with_its_reason_and_hostile_payloads_as_text() {
    let stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let base = stage.base();
    stage.refuse(&[b"{not json", HOSTILE.as_bytes()]).await;

    browser.client.goto(&format!("{base}/dead-letters")).await.unwrap();
    assert_eq!(browser.client.title().await.unwrap(), "Dead letters · alarm-digest");
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('article.letter')].map(a => [
                Number(a.dataset.sequence), a.querySelector('dd.subject').innerText,
                a.querySelector('dd.reason').innerText, a.querySelector('pre.payload').textContent]);",
        )
        .await;
    let api = stage.get("/v1/dead-letters", None).await;
    let expected: Vec<Value> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!([i["sequence"], i["subject"], i["reason"], i["payload"]]))
        .collect();
    assert_eq!(shown, Value::Array(expected.clone()));
    assert_eq!(expected.len(), 2, "{api}");
    let payloads: Vec<&str> = expected.iter().map(|e| e[3].as_str().unwrap()).collect();
    assert!(
        payloads.contains(&"{not json") && payloads.contains(&HOSTILE),
        "{payloads:?}"
    );
    let malformed = expected.iter().find(|e| e[3] == "{not json").unwrap();
    assert!(malformed[2].as_str().unwrap().contains("not valid JSON"), "{malformed}");
    assert_eq!(malformed[1], "AlarmStatusChanged");

    // The script in the payload is text: no script element, no alert, the text intact.
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main script').length")
            .await,
        0
    );
    assert!(browser.client.get_alert_text().await.is_err(), "an alert is open");
    assert!(browser
        .eval("return document.body.innerText")
        .await
        .as_str()
        .unwrap()
        .contains(r#""Status":"<script>alert(1)</script>\"'""#));
    browser.screenshots("dead-letters").await;

    // One a page: Older walks back to the other letter, and there the walk ends.
    browser
        .client
        .goto(&format!("{base}/dead-letters?limit=1"))
        .await
        .unwrap();
    let sequence = "return [...document.querySelectorAll('article.letter')].map(a => Number(a.dataset.sequence))";
    assert_eq!(browser.eval(sequence).await, json!([expected[0][0]]));
    browser.click(Locator::Css("a[rel=next]")).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css(&format!(
            "article.letter[data-sequence='{}']",
            expected[1][0]
        )))
        .await
        .unwrap();
    assert!(browser.client.find(Locator::Css("a[rel=next]")).await.is_err());
    browser.close().await;
}

//! The console's pages against the API: the listing and its filters, an alarm's history and
//! Acknowledge, the digest preview and the digest then sent, and a hostile alarm id.

use crate::browser::Chromedriver;
use crate::stage::{event, Stage, PATIENCE};
use fantoccini::Locator;
use serde_json::Value;
use testkit::StoreKind;

const HOSTILE: &str = "<script>alert(1)</script>\"'";
const HOSTILE_NAME: &str = "<img src=x onerror=\"window.pwned=1\">";

/// `user/alarm` of every row of the listing shown now.
const ROWS: &str = "return [...document.querySelectorAll('table.alarms tbody tr')]
    .map(tr => tr.cells[1].innerText + '/' + tr.cells[0].innerText);";

/// `user/alarm` of every item of an API listing.
fn keys(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i["UserID"].as_str().unwrap(), i["AlarmID"].as_str().unwrap()))
        .collect()
}

fn strings(value: Value) -> Vec<String> {
    serde_json::from_value(value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_the_console_shows_alarms_from_nats_filters_like_the_api_acknowledges_and_previews_the_next_digest() {
    pages_agree_with_the_api(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mongodb_the_console_shows_alarms_from_nats_filters_like_the_api_acknowledges_and_previews_the_next_digest()
{
    pages_agree_with_the_api(StoreKind::Mongo).await;
}

/// The whole walk through the pages, on one store.
async fn pages_agree_with_the_api(store: StoreKind) {
    let mut stage = Stage::start_on(store, &[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let base = stage.base();
    let page = |path: &str| format!("{base}{path}");
    stage
        .publish(
            &[
                event("u1", "a1", "WARNING", 1, "Disk full", "storage"),
                event("u1", "a2", "CRITICAL", 2, "CPU hot", "compute"),
                event("u1", "a3", "WARNING", 3, "Disk slow", "storage"),
                event("u2", "b1", "CLEARED", 4, "Net down", "network"),
                event("u2", HOSTILE, "CRITICAL", 5, HOSTILE_NAME, "storage"),
            ],
            None,
        )
        .await;

    // The listing shows what came in over NATS, in the API's order.
    browser.client.goto(&page("/")).await.unwrap();
    assert_eq!(browser.client.title().await.unwrap(), "Alarms · alarm-digest");
    let all = keys(&stage.get("/v1/alarms", None).await);
    assert_eq!(all.len(), 5);
    assert_eq!(strings(browser.eval(ROWS).await), all);
    browser.screenshots("alarms").await;

    // The hostile id and name are text: no script ran, the title is untouched.
    let hostile_link = browser
        .client
        .find(Locator::XPath(
            "//a[contains(@class,'alarm-link')][starts-with(., '<script>')]",
        ))
        .await
        .unwrap();
    assert_eq!(hostile_link.text().await.unwrap(), HOSTILE);
    assert!(browser
        .eval("return document.body.innerText")
        .await
        .as_str()
        .unwrap()
        .contains(HOSTILE_NAME));
    assert_eq!(browser.eval("return window.pwned === undefined").await, true);
    assert!(browser.client.get_alert_text().await.is_err(), "an alert is open");
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main script, main img').length")
            .await,
        0
    );
    hostile_link.click().await.unwrap();
    let heading = browser.client.wait().for_element(Locator::Css("h1 .id")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), HOSTILE);
    assert_eq!(browser.eval("return window.pwned === undefined").await, true);
    assert_eq!(
        browser.client.title().await.unwrap(),
        format!("Alarm {HOSTILE} · alarm-digest")
    );
    browser.client.goto(&page("/")).await.unwrap();

    // A filter typed into the form narrows the list exactly as the API's query does.
    browser.type_into(Locator::Id("f-service"), "storage").await;
    browser.click(Locator::Css("#f-status input[value='WARNING']")).await;
    browser.click(Locator::Css("form.filters button")).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css("#f-service[value='storage']"))
        .await
        .unwrap();
    let filtered = keys(&stage.get("/v1/alarms?service=storage&status=WARNING", None).await);
    assert_eq!(filtered, ["u1/a1", "u1/a3"]);
    assert_eq!(strings(browser.eval(ROWS).await), filtered);
    browser.screenshots("alarms-filtered").await;

    // So do two statuses, a lifecycle and a time window, ticked and typed in the form.
    browser.client.goto(&page("/alarms")).await.unwrap();
    for status in ["CRITICAL", "CLEARED"] {
        browser
            .click(Locator::Css(&format!("#f-status input[value='{status}']")))
            .await;
    }
    browser
        .click(Locator::Css("#f-lifecycle input[value='triggered']"))
        .await;
    browser
        .type_into(Locator::Id("f-changed_after"), "2026-01-01T00:00:01Z")
        .await;
    browser.click(Locator::Css("form.filters button")).await;
    browser
        .client
        .wait()
        .for_element(Locator::Css("#f-changed_after[value='2026-01-01T00:00:01Z']"))
        .await
        .unwrap();
    let narrowed = keys(
        &stage
            .get(
                "/v1/alarms?status=CRITICAL&status=CLEARED&lifecycle=triggered&changed_after=2026-01-01T00:00:01Z",
                None,
            )
            .await,
    );
    assert_eq!(narrowed, ["u1/a2", format!("u2/{HOSTILE}").as_str()]);
    assert_eq!(strings(browser.eval(ROWS).await), narrowed);

    // Every other filter of the API, given in the page's query string (a shared link),
    // narrows the page to exactly the API's rows.
    for query in [
        "user_id=u2",
        "name=Disk%20full",
        "user_name=Ann&service=storage",
        "q=disk",
        "active=false",
        "lifecycle=resolved",
        "changed_before=2026-01-01T00:00:03Z",
        "order=desc&limit=3",
    ] {
        browser.client.goto(&page(&format!("/alarms?{query}"))).await.unwrap();
        let api = keys(&stage.get(&format!("/v1/alarms?{query}"), None).await);
        assert!(!api.is_empty() && api.len() < 5, "{query} narrows: {api:?}");
        assert_eq!(strings(browser.eval(ROWS).await), api, "{query}");
    }

    // Live refresh: an alarm that arrives while the page is open shows up in it, without
    // a reload (a mark left in the page survives) and on the same URL.
    browser.client.goto(&page("/alarms?service=storage")).await.unwrap();
    let url = browser.client.current_url().await.unwrap();
    browser.eval("window.stayed = true; return null").await;
    stage
        .publish(&[event("u3", "live", "WARNING", 10, "Disk new", "storage")], None)
        .await;
    browser
        .client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath("//table[contains(@class,'alarms')]//a[.='live']"))
        .await
        .unwrap();
    assert_eq!(browser.eval("return window.stayed === true").await, true);
    assert_eq!(browser.client.current_url().await.unwrap(), url);
    let live = keys(&stage.get("/v1/alarms?service=storage", None).await);
    assert_eq!(strings(browser.eval(ROWS).await), live);

    // Cursor paging walks the whole listing, two alarms a page.
    browser.client.goto(&page("/alarms?limit=2")).await.unwrap();
    let mut walked = strings(browser.eval(ROWS).await);
    while browser.client.find(Locator::Css("a[rel=next]")).await.is_ok() {
        browser.follow(Locator::Css("a[rel=next]")).await;
        walked.extend(strings(browser.eval(ROWS).await));
    }
    let all = keys(&stage.get("/v1/alarms", None).await);
    assert_eq!(all.len(), 6);
    assert_eq!(walked, all);

    // A digest for u1, then changes: the preview explains each alarm of the next one.
    assert_eq!(stage.send_digest("u1").await.len(), 3);
    stage
        .publish(
            &[
                event("u1", "a1", "CRITICAL", 6, "Disk full", "storage"),
                event("u1", "a2", "CLEARED", 7, "CPU hot", "compute"),
                event("u1", "a2", "CRITICAL", 8, "CPU hot", "compute"),
                event("u1", "a4", "WARNING", 9, "Queue long", "queue"),
            ],
            None,
        )
        .await;

    // The alarm's page shows its history with outcomes and both times.
    browser.client.goto(&page("/alarms/u1/a2")).await.unwrap();
    let history = browser
        .eval(
            "return [...document.querySelectorAll('table.history tbody tr')]
                .map(tr => [...tr.cells].map(c => c.innerText));",
        )
        .await;
    let api_history = stage.get("/v1/users/u1/alarms/a2/events", None).await;
    let expected: Vec<Vec<String>> = api_history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            ["Outcome", "Status", "ChangedAt", "ReceivedAt"]
                .iter()
                .map(|k| e[k].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(expected.len(), 3, "{api_history}");
    assert_eq!(serde_json::from_value::<Vec<Vec<String>>>(history).unwrap(), expected);
    browser.screenshots("alarm").await;

    // Acknowledge from the page is what the API then shows.
    browser.follow(Locator::Id("acknowledge")).await;
    let ack = browser
        .client
        .wait()
        .for_element(Locator::Css("ul.acks li"))
        .await
        .unwrap();
    let acknowledgements = stage.get("/v1/users/u1/alarms/a2", None).await["Acknowledgements"].clone();
    assert_eq!(acknowledgements.as_array().unwrap().len(), 1, "{acknowledgements}");
    assert_eq!(ack.text().await.unwrap(), acknowledgements[0].as_str().unwrap());
    assert_eq!(
        stage.get("/v1/users/u1/alarms/a2", None).await["Lifecycle"],
        "acknowledged"
    );

    // The preview page equals the API's preview, and then the digest a SendAlarmDigest sends.
    browser.client.goto(&page("/users/u1/digest")).await.unwrap();
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('table.preview tbody tr')]
                .map(tr => [tr.cells[1].innerText, tr.cells[3].innerText, tr.cells[4].innerText, tr.dataset.reason]);",
        )
        .await;
    let shown: Vec<Vec<String>> = serde_json::from_value(shown).unwrap();
    browser.screenshots("digest-preview").await;
    let preview = stage.get("/v1/users/u1/digest/preview", None).await;
    let api: Vec<Vec<String>> = preview["Alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            ["AlarmID", "Status", "LatestChangedAt", "Reason"]
                .iter()
                .map(|k| a[k].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(shown, api);
    let reasons: Vec<(&str, &str)> = api.iter().map(|a| (a[0].as_str(), a[3].as_str())).collect();
    assert_eq!(
        reasons,
        [
            ("a1", "ChangedSinceDelivered"),
            ("a2", "ClearedAndCameBack"),
            ("a4", "NeverDelivered")
        ]
    );
    let reason_text = browser
        .eval("return document.querySelector('td.reason').innerText")
        .await;
    assert_eq!(
        reason_text,
        "status changed since the delivered WARNING@2026-01-01T00:00:01Z"
    );
    let sent = stage.send_digest("u1").await;
    let sent: Vec<Vec<String>> = sent.into_iter().map(|(a, s, t)| vec![a, s, t]).collect();
    let without_reasons: Vec<Vec<String>> = api.iter().map(|a| a[..3].to_vec()).collect();
    assert_eq!(sent, without_reasons);

    // The preview page lists the digests sent, newest first, as the API does.
    stage.await_sent_digests("u1", 2).await;
    browser.client.goto(&page("/users/u1/digest")).await.unwrap();
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('table.sent tbody tr')]
                .map(tr => [...tr.cells].map(c => c.innerText));",
        )
        .await;
    let api: Vec<Vec<String>> = stage
        .get("/v1/users/u1/digests", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            vec![
                d["DigestID"].as_str().unwrap().to_string(),
                d["RecordedAt"].as_str().unwrap().to_string(),
                d["Alarms"].to_string(),
            ]
        })
        .collect();
    let sizes: Vec<&str> = api.iter().map(|d| d[2].as_str()).collect();
    assert_eq!(sizes, ["3", "3"]);
    assert_eq!(serde_json::from_value::<Vec<Vec<String>>>(shown).unwrap(), api);

    // An unknown alarm renders the API's problem details.
    browser.client.goto(&page("/alarms/u1/nope")).await.unwrap();
    let detail = browser
        .eval("return document.querySelector('dd.detail').innerText")
        .await;
    assert_eq!(detail, "no alarm nope of user u1");
    browser.screenshots("not-found").await;
    browser.close().await;
}

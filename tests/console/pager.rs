//! The console's pager pages against the API: the policy editor (edit, refuse beside the
//! field, delete after asking), Acknowledge stopping escalation, and the services list.

use crate::browser::{Browser, Chromedriver};
use crate::stage::{path_segment, Stage, PATIENCE};
use fantoccini::Locator;
use futures::StreamExt;
use serde_json::{json, Value};

const HOSTILE: &str = "<script>alert(1)</script>\"'";

/// Clicks the editor button of this `op` value; returns once the page it posts to is shown.
async fn op(browser: &Browser, value: &str) {
    browser
        .follow(Locator::Css(&format!("button[name=op][value='{value}']")))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_edited_in_the_page_is_the_apis_an_invalid_phone_is_refused_beside_it_and_delete_asks_first() {
    let stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let editor = format!("{}/services/payments/policy", stage.base());
    let api = "/v1/services/payments/escalation-policy";
    assert_eq!(stage.fetch(api).await.0, 404);

    // A first draft: one level, one e-mail target. Add an SMS level, move it first, repeat.
    browser.client.goto(&editor).await.unwrap();
    browser.retype("level-0-target-0-address", "a@example.com").await;
    op(&browser, "add-level").await;
    op(&browser, "add-sms:1").await;
    browser.retype("level-1-target-0-address", "+33600000000").await;
    browser.retype("level-1-timeout", "120").await;
    op(&browser, "add-email:1").await;
    op(&browser, "remove-target:1:1").await;
    op(&browser, "up:1").await;
    browser.click(Locator::Css("#last option[value='repeat']")).await;
    assert_eq!(stage.fetch(api).await.0, 404, "edits are not saved until Save");
    browser.screenshots("policy-editor").await;
    browser.follow(Locator::Id("save")).await;
    assert_eq!(browser.notice().await, "Saved.");
    let expected = json!({"levels": [
        {"targets": [{"type": "sms", "phone": "+33600000000"}], "timeout_seconds": 120},
        {"targets": [{"type": "email", "address": "a@example.com"}]},
    ], "last_level_timeout": "repeat"});
    assert_eq!(stage.fetch(api).await, (200, expected.clone()));

    // An invalid phone: the error sits with its field, the draft is kept, nothing saved.
    browser.retype("level-0-target-0-address", "+12").await;
    browser.follow(Locator::Id("save")).await;
    let error = browser
        .client
        .wait()
        .for_element(Locator::Id("err-level-0-target-0"))
        .await
        .unwrap();
    assert!(error.text().await.unwrap().contains("\"+12\""));
    let beside = browser
        .eval(
            "const input = document.getElementById('level-0-target-0-address');
             const error = document.getElementById('err-level-0-target-0');
             return [input.value, input.getAttribute('aria-describedby'), input.getAttribute('aria-invalid'),
                     input.parentElement.contains(error), document.querySelectorAll('.field-error').length];",
        )
        .await;
    assert_eq!(beside, json!(["+12", "err-level-0-target-0", "true", true, 1]));
    browser.screenshots("policy-editor-error").await;
    assert_eq!(stage.fetch(api).await, (200, expected), "nothing was saved");

    // Delete asks first; Cancel keeps the policy, Delete removes it.
    browser.client.goto(&editor).await.unwrap();
    browser.follow(Locator::Css("a.danger")).await;
    let question = browser.client.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(question.text().await.unwrap(), "Delete the policy of payments?");
    browser.screenshots("policy-delete").await;
    browser.follow(Locator::Id("cancel")).await;
    browser.client.wait().for_element(Locator::Id("save")).await.unwrap();
    assert_eq!(stage.fetch(api).await.0, 200, "cancelled");
    browser.follow(Locator::Css("a.danger")).await;
    browser.follow(Locator::Id("confirm-delete")).await;
    assert_eq!(browser.notice().await, "The policy was deleted.");
    assert_eq!(stage.fetch(api).await.0, 404);
    browser.close().await;
}

/// (ServiceID, Level) of a published notification.
fn service_and_level(payload: &[u8]) -> (String, u64) {
    let body: Value = serde_json::from_slice(payload).unwrap();
    (
        body["ServiceID"].as_str().unwrap().to_string(),
        body["Level"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_acknowledged_in_the_page_notifies_no_further_level_and_the_api_says_who() {
    let stage = Stage::start(&[("PAGER_TICK", "100ms")]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    // Level 1 has 4 s to answer; level 2 follows.
    let policy = json!({"levels": [
        {"targets": [{"type": "email", "address": "first@example.com"}], "timeout_seconds": 4},
        {"targets": [{"type": "sms", "phone": "+33600000000"}]},
    ]});
    for service in ["payments", "canary"] {
        stage.put_policy(service, &policy).await;
    }
    let mut notifications = stage.nats.subscribe("Notification.>").await.unwrap();
    stage.nats.flush().await.unwrap();

    stage.alert("payments", "checkout is failing").await;
    browser
        .client
        .goto(&format!("{}/services/payments", stage.base()))
        .await
        .unwrap();
    let countdown = browser
        .eval("return document.querySelector('time[data-countdown]').getAttribute('datetime')")
        .await;
    let before = stage.fetch("/v1/services/payments").await.1;
    assert_eq!(countdown, before["Incident"]["TimeoutAt"]);
    assert!(browser
        .eval("return document.querySelector('dd.escalation').innerText")
        .await
        .as_str()
        .unwrap()
        .starts_with("next level in "));
    browser.screenshots("service-incident").await;
    browser.type_into(Locator::Id("acknowledged-by"), "Ann O'Neil").await;
    browser.follow(Locator::Id("acknowledge")).await;
    let acked = browser
        .client
        .wait()
        .for_element(Locator::Css("dd.acknowledged"))
        .await
        .unwrap();
    assert!(acked.text().await.unwrap().starts_with("by Ann O'Neil at "));
    let service = stage.fetch("/v1/services/payments").await.1;
    assert_eq!(service["Incident"]["Acknowledged"], true, "{service}");
    assert_eq!(service["Incident"]["AcknowledgedBy"], "Ann O'Neil");
    assert_eq!(service["Incident"]["TimeoutAt"], Value::Null);

    // The negative, proved by an event: canary's incident opens after the acknowledgement
    // with the same 4 s, so payments' level 2, had it still been due, was due before
    // canary's. The timer claims due services in due order and pages each in turn, so it
    // would have been published before canary's level 2, which this waits for.
    stage.alert("canary", "canary is down").await;
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout(PATIENCE, notifications.next())
            .await
            .expect("canary's level 2")
            .unwrap();
        let got = service_and_level(&message.payload);
        seen.push(got.clone());
        if got == ("canary".to_string(), 2) {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            ("payments".to_string(), 1),
            ("canary".to_string(), 1),
            ("canary".to_string(), 2)
        ],
        "payments paged level 1 only"
    );
    browser.client.refresh().await.unwrap();
    let sent = browser
        .eval(
            "return [...document.querySelectorAll('table.notifications tbody tr')]
                .map(tr => [tr.cells[1].innerText, tr.cells[2].innerText]);",
        )
        .await;
    assert_eq!(sent, json!([["1", "email first@example.com"]]));
    browser.screenshots("service-acknowledged").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_page_lists_every_service_with_its_health_and_a_hostile_id_as_text() {
    let stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    for service in ["db", "web", HOSTILE] {
        stage.alert(service, &format!("{service} is down")).await;
    }
    let healthy = format!("{}/v1/services/db/healthy", stage.base());
    let response = reqwest::Client::new().post(healthy).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // Two a page, walked by the Next link, is the API's list.
    browser
        .client
        .goto(&format!("{}/services?limit=2", stage.base()))
        .await
        .unwrap();
    let rows = "return [...document.querySelectorAll('table.services tbody tr')]
        .map(tr => [tr.cells[0].innerText, tr.cells[1].innerText]);";
    let mut walked: Vec<Vec<String>> = serde_json::from_value(browser.eval(rows).await).unwrap();
    while browser.client.find(Locator::Css("a[rel=next]")).await.is_ok() {
        browser.follow(Locator::Css("a[rel=next]")).await;
        walked.extend(serde_json::from_value::<Vec<Vec<String>>>(browser.eval(rows).await).unwrap());
    }
    let listed = stage.fetch("/v1/services").await.1;
    let api: Vec<Vec<String>> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let health = if s["Healthy"] == true { "healthy" } else { "unhealthy" };
            vec![s["ServiceID"].as_str().unwrap().to_string(), health.to_string()]
        })
        .collect();
    assert_eq!(api.len(), 3);
    assert_eq!(walked, api);

    // A service with a policy and no alert yet is monitored too: listed, healthy. The
    // page's form opens the editor of a service nobody configured yet.
    let quiet = json!({"levels": [{"targets": [{"type": "email", "address": "q@example.com"}]}]});
    stage.put_policy("quiet", &quiet).await;
    browser
        .client
        .goto(&format!("{}/services", stage.base()))
        .await
        .unwrap();
    let shown: Vec<Vec<String>> = serde_json::from_value(browser.eval(rows).await).unwrap();
    assert!(
        shown.contains(&vec!["quiet".to_string(), "healthy".to_string()]),
        "{shown:?}"
    );
    let listed = stage.fetch("/v1/services").await.1;
    assert_eq!(listed["items"].as_array().unwrap().len(), 4, "{listed}");
    browser.type_into(Locator::Id("open-policy"), "fresh").await;
    browser
        .click(Locator::Css("form[aria-label='Open a policy'] button"))
        .await;
    browser
        .client
        .wait()
        .for_element(Locator::Css("fieldset.policy-fields"))
        .await
        .unwrap();
    assert_eq!(
        browser.client.current_url().await.unwrap().path(),
        "/services/fresh/policy"
    );

    browser
        .client
        .goto(&format!("{}/services", stage.base()))
        .await
        .unwrap();
    browser.screenshots("services").await;
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main script').length")
            .await,
        0
    );
    let link = browser
        .client
        .find(Locator::XPath(
            "//a[contains(@class,'service-link')][starts-with(., '<script>')]",
        ))
        .await
        .unwrap();
    assert_eq!(link.text().await.unwrap(), HOSTILE);
    assert_eq!(
        link.attr("href").await.unwrap().unwrap(),
        format!("/services/{}", path_segment(HOSTILE))
    );
    link.click().await.unwrap();
    let heading = browser.client.wait().for_element(Locator::Css("h1 .id")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), HOSTILE);
    assert!(browser.client.get_alert_text().await.is_err(), "no script ran");
    browser.screenshots("service-hostile").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_set_the_pager_pages_need_a_session_and_their_actions_the_write_token_and_csrf() {
    let (read, write) = ("read-token", "write-token");
    let stage = Stage::start(&[("API_READ_TOKEN", read), ("API_TOKEN", write)]).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", stage.base());
    let (read_cookie, write_cookie) = (stage.session_cookie(read).await, stage.session_cookie(write).await);
    let cookie = |token: &str| {
        if token == read {
            read_cookie.clone()
        } else {
            write_cookie.clone()
        }
    };
    for path in ["/services", "/services/payments", "/services/payments/policy"] {
        let response = http.get(url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "GET {path}");
    }
    // Read-only, the editor shows the draft with every control disabled and no button.
    let page = http
        .get(url("/services/payments/policy"))
        .header(reqwest::header::COOKIE, cookie(read))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<fieldset class=\"policy-fields\" disabled>"), "{html}");
    assert!(!html.contains("name=\"op\""), "no edit or save button: {html}");
    let actions = [
        "/services/payments/acknowledge",
        "/services/payments/healthy",
        "/services/payments/policy",
        "/services/payments/policy/delete",
    ];
    for path in actions {
        let post = |token: &str| {
            http.post(url(path))
                .header(reqwest::header::COOKIE, cookie(token))
                .form(&[("op", "save"), ("last", "stop")])
                .send()
        };
        assert_eq!(post(read).await.unwrap().status(), 401, "POST {path} as a reader");
        assert_eq!(post(write).await.unwrap().status(), 403, "POST {path} without CSRF");
    }
    let policy = http
        .get(url("/v1/services/payments/escalation-policy"))
        .bearer_auth(read)
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 404, "nothing was saved");
}

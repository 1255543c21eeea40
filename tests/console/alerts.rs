//! What the Alertmanager and Allma intakes keep beyond the status, on the alarm's page: an
//! alert's summary (escaped like everything the page shows) and a service's name beside its id.

use crate::browser::Chromedriver;
use crate::stage::{path_segment, Stage};
use serde_json::json;

/// A summary that would run script if the page did not escape it.
const HOSTILE_SUMMARY: &str = "disk <b>full</b><img src=x onerror=\"window.pwned=1\">";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_page_shows_the_alert_summary_escaped_and_the_service_name_beside_its_id() {
    let stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let notification = json!({
        "version": "4", "status": "firing", "receiver": "alarm-digest", "groupKey": "{}:{}",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": "db-1", "service": "billing", "severity": "critical"},
            "annotations": {"summary": HOSTILE_SUMMARY},
            "startsAt": "2026-01-05T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        }],
    });
    assert_eq!(stage.post("/v1/intake/alertmanager?user=u1", &notification).await, 202);
    let allma = json!({"type": "ALERT_CREATED", "alert": {
        "alertId": "al-1", "name": "Invoices late", "status": "TRIGGERED", "triggeredOn": "2026-01-05T10:00:00Z",
        "responder": {"userId": "u1"}, "service": {"serviceId": "svc-42", "name": "billing"},
    }});
    assert_eq!(stage.post("/v1/intake/allma", &allma).await, 202);

    let listed = stage.get("/v1/users/u1/alarms?name=DiskFull", None).await;
    let alarm = listed["items"][0]["AlarmID"].as_str().unwrap().to_string();
    let page = |alarm: &str| format!("{}/alarms/u1/{}", stage.base(), path_segment(alarm));
    browser.client.goto(&page(&alarm)).await.unwrap();
    let shown = browser
        .eval("return [document.querySelector('dd.summary').innerText, window.pwned === undefined]")
        .await;
    assert_eq!(shown, json!([HOSTILE_SUMMARY, true]), "shown as text, never run");

    browser.client.goto(&page("al-1")).await.unwrap();
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('dl.facts dt')]
                .map(dt => [dt.innerText, dt.nextElementSibling.innerText])
                .filter(([k]) => k.startsWith('Service'));",
        )
        .await;
    assert_eq!(shown, json!([["Service", "svc-42"], ["Service name", "billing"]]));
    browser.close().await;
}

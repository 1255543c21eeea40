//! With `API_READ_TOKEN` and `API_TOKEN` set: no page or action without logging in, the
//! read token only reads, writes carry a CSRF token, logout ends the session.

use crate::browser::Chromedriver;
use crate::stage::{event, Stage};
use fantoccini::Locator;
use reqwest::header::COOKIE;

const READ: &str = "read-token";
const WRITE: &str = "write-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_set_no_page_or_action_works_without_logging_in() {
    let mut stage = Stage::start(&[("API_READ_TOKEN", READ), ("API_TOKEN", WRITE)]).await;
    stage
        .publish(&[event("u1", "a1", "WARNING", 1, "Disk full", "storage")], Some(READ))
        .await;
    let http = reqwest::Client::new();
    let base = stage.base();
    let url = |path: &str| format!("{base}{path}");
    for path in [
        "/",
        "/alarms",
        "/alarms/u1/a1",
        "/users/u1/digest",
        "/stats",
        "/dead-letters",
    ] {
        let response = http.get(url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "GET {path}");
        assert!(
            response.text().await.unwrap().contains("<form class=\"login\""),
            "{path}"
        );
        let wrong = http
            .get(url(path))
            .header(COOKIE, "alarm_digest_session=w.9999999999.00")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "GET {path} with a wrong session");
    }
    // Every console response forbids inline script and style and framing, so attacker text
    // stays inert even if an escape were missed; the pages themselves need neither.
    for path in ["/login", "/console.css", "/alarms"] {
        let response = http.get(url(path)).send().await.unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("style-src 'self'")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let ack = |cookie: Option<String>, csrf: &str| {
        let mut request = http.post(url("/alarms/u1/a1/ack")).form(&[("csrf", csrf)]);
        if let Some(c) = cookie {
            request = request.header(COOKIE, c);
        }
        request.send()
    };
    assert_eq!(ack(None, "").await.unwrap().status(), 401);
    assert_eq!(
        ack(Some(stage.session_cookie(READ).await), "").await.unwrap().status(),
        401,
        "read token wrote"
    );
    assert_eq!(
        ack(Some(stage.session_cookie(WRITE).await), "").await.unwrap().status(),
        403,
        "no CSRF token"
    );
    let acks = |alarm: serde_json::Value| alarm["Acknowledgements"].as_array().unwrap().len();
    assert_eq!(acks(stage.get("/v1/users/u1/alarms/a1", Some(READ)).await), 0);

    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let c = &browser.client;
    let b = &browser;
    let log_in = |token: &'static str| async move {
        b.type_into(Locator::Id("token"), token).await;
        b.click(Locator::Css("form.login button")).await;
    };
    c.goto(&url("/alarms/u1/a1")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Log in · alarm-digest");
    browser.screenshots("login").await;
    log_in("not-a-token").await;
    c.wait().for_element(Locator::Css("p.problem")).await.unwrap();
    log_in(READ).await;
    // The login leads back to the page asked for; read-only, it offers no Acknowledge.
    c.wait().for_element(Locator::Css("table.history")).await.unwrap();
    assert!(c.find(Locator::Id("acknowledge")).await.is_err());
    browser.click(Locator::Css("header form button")).await;
    c.wait().for_element(Locator::Id("token")).await.unwrap();
    c.goto(&url("/alarms/u1/a1")).await.unwrap();
    assert_eq!(
        c.title().await.unwrap(),
        "Log in · alarm-digest",
        "logout kept the session"
    );

    log_in(WRITE).await;
    c.wait()
        .for_element(Locator::Id("acknowledge"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("ul.acks li")).await.unwrap();
    assert_eq!(acks(stage.get("/v1/users/u1/alarms/a1", Some(READ)).await), 1);
    let cookie = c.get_named_cookie("alarm_digest_session").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    browser.close().await;
}

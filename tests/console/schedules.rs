//! The digest page's schedule form against the API: a schedule saved in the page is the
//! API's, an unknown zone is refused beside its field with nothing saved, and Remove
//! deletes it.

use crate::browser::Chromedriver;
use crate::stage::Stage;
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_saved_in_the_digest_page_is_the_apis_an_unknown_zone_is_refused_beside_it_and_remove_deletes_it() {
    let stage = Stage::start(&[]).await;
    let driver = Chromedriver::start();
    let browser = driver.browser().await;
    let page = format!("{}/users/ann/digest", stage.base());
    let api = "/v1/users/ann/digest-schedule";
    assert_eq!(stage.fetch(api).await.0, 404);

    browser.client.goto(&page).await.unwrap();
    browser.retype("schedule-zone", "Asia/Kolkata").await;
    browser.retype("schedule-cron", "30 8 * * 1-5").await;
    browser.click(Locator::Id("schedule-empty")).await;
    browser.follow(Locator::Id("schedule-save")).await;
    assert_eq!(browser.notice().await, "Schedule saved.");
    let (status, saved) = stage.fetch(api).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (&saved["time_zone"], &saved["cron"], &saved["send_empty"]),
        (&json!("Asia/Kolkata"), &json!("30 8 * * 1-5"), &json!(true))
    );
    // The page lists the next occurrences at 08:30 Kolkata time, +05:30.
    let first = browser
        .client
        .find(Locator::Css("table.occurrences tbody tr td:nth-child(2)"))
        .await
        .unwrap();
    assert!(first.text().await.unwrap().ends_with("T08:30:00+05:30"));
    browser.screenshots("digest-schedule").await;

    // An unknown zone: refused beside its field, the draft kept, nothing saved.
    browser.retype("schedule-zone", "Mars/Olympus_Mons").await;
    browser.follow(Locator::Id("schedule-save")).await;
    let error = browser
        .client
        .wait()
        .for_element(Locator::Id("err-schedule-zone"))
        .await
        .unwrap();
    assert!(error.text().await.unwrap().contains("Mars/Olympus_Mons"));
    let beside = browser
        .eval(
            "const input = document.getElementById('schedule-zone');
             return [input.value, input.getAttribute('aria-describedby'), input.getAttribute('aria-invalid'),
                     document.querySelectorAll('.field-error').length];",
        )
        .await;
    assert_eq!(beside, json!(["Mars/Olympus_Mons", "err-schedule-zone", "true", 1]));
    assert_eq!(
        stage.fetch(api).await.1["time_zone"],
        "Asia/Kolkata",
        "nothing was saved"
    );

    browser.client.goto(&page).await.unwrap();
    browser.follow(Locator::Id("schedule-remove")).await;
    assert_eq!(browser.notice().await, "The schedule was removed.");
    assert_eq!(stage.fetch(api).await.0, 404);
    browser.close().await;
}

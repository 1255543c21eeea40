//! The console in a real headless Chromium (over WebDriver), against the real binary with a
//! real nats-server; alarms (and input to refuse) arrive over NATS like producers send them.

mod support;

#[allow(dead_code)]
#[path = "../e2e/harness/replica.rs"]
mod replica;

#[path = "console/browser.rs"]
mod browser;
#[path = "console/stage.rs"]
mod stage;

#[path = "console/alerts.rs"]
mod alerts;
#[path = "console/insight.rs"]
mod insight;
#[path = "console/pager.rs"]
mod pager;
#[path = "console/pages.rs"]
mod pages;
#[path = "console/sessions.rs"]
mod sessions;

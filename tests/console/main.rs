//! The console in a real headless Chromium (over WebDriver), against the real binary with a
//! real nats-server; alarms (and input to refuse) arrive over NATS like producers send them.

mod browser;
mod stage;

mod alerts;
mod insight;
mod pager;
mod pages;
mod schedules;
mod sessions;

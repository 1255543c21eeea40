//! Headless Chromium over WebDriver: a chromedriver on a free port (killed by PID on drop,
//! also when a test fails), a session on it, and page screenshots.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;
use testkit::process::{spawn_until_ready, stop};
use testkit::{eventually, free_port};

/// Debian's chromedriver, or `CHROMEDRIVER`.
fn chromedriver_binary() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// A running chromedriver, killed when dropped.
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver and returns once it says it listens.
    pub fn start() -> Self {
        let port = free_port();
        let mut cmd = Command::new(chromedriver_binary());
        cmd.arg(format!("--port={port}"));
        let (child, _) = spawn_until_ready(cmd, "started successfully", Duration::from_secs(30));
        Self { child, port }
    }

    /// A new headless Chromium session at desktop width.
    pub async fn browser(&self) -> Browser {
        let mut capabilities = serde_json::Map::new();
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                // Root in a container has no sandbox to drop into.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900"],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session");
        Browser { client }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// One browser session.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
}

/// Desktop and phone widths of the screenshots.
const WIDTHS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 390, 844)];

impl Browser {
    /// Writes `target/console-screenshots/{name}-desktop.png` and `-phone.png` of the page
    /// shown now, then returns to desktop width.
    pub async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        for (width_name, width, height) in WIDTHS {
            self.client.set_window_size(width, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{width_name}.png")), png).unwrap();
        }
        self.client.set_window_size(1280, 900).await.unwrap();
    }

    /// Clicks the element `at` finds on the page shown now.
    pub async fn click(&self, at: Locator<'_>) {
        self.client.find(at).await.unwrap().click().await.unwrap();
    }

    /// Clicks the link or button `at` finds and returns once the page it leads to has
    /// loaded, so what is found next is on that page, not on the one it replaced.
    pub async fn follow(&self, at: Locator<'_>) {
        self.eval("window.replacedSoon = true; return null").await;
        self.click(at).await;
        // WebDriver says nothing when a page replaces another; ask again shortly.
        eventually("the click to lead to a new page", Duration::from_secs(30), || async {
            // While the old page unloads, scripts may fail to run: not loaded yet.
            let loaded = self
                .client
                .execute(
                    "return window.replacedSoon === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            match loaded {
                Ok(serde_json::Value::Bool(true)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }

    /// The text of the notice a form's result page shows (`p.notice`), once it is there.
    pub async fn notice(&self) -> String {
        let notice = self.client.wait().for_element(Locator::Css("p.notice")).await.unwrap();
        notice.text().await.unwrap()
    }

    /// Types `text` into the element `at` finds on the page shown now.
    pub async fn type_into(&self, at: Locator<'_>, text: &str) {
        self.client.find(at).await.unwrap().send_keys(text).await.unwrap();
    }

    /// Replaces the text of the field with this id on the page shown now.
    pub async fn retype(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Runs `script` (a function body) in the page; its return value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Ends the session (Chromium exits).
    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// `target/console-screenshots`, beside the test's own temporary directory.
fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("console-screenshots")
}

//! A window of the shared Chromium, driven through its own WebDriver session: what a browser
//! test does with a page (go, find, click, type, answer a dialog), with every wait bounded.
//! `check` (in `tab/check.rs`) looks at a page at phone and desktop widths.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thirtyfour::{AlertBehaviour, CapabilitiesHelper, prelude::*};

use super::chromium::Chromium;

mod check;

/// How long a page gets to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub struct Viewport {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub mobile: bool,
}

pub const PHONE: Viewport = Viewport { name: "375", width: 375, height: 812, mobile: true };
pub const DESKTOP: Viewport = Viewport { name: "1280", width: 1280, height: 900, mobile: false };

pub struct Tab {
    pub driver: WebDriver,
    /// The app's base URL; paths given to `goto` are relative to it.
    pub base: String,
}

impl Tab {
    /// A new window in the shared browser, at desktop size.
    pub async fn open(chromium: &Chromium, base: &str) -> Self {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_debugger_address(&chromium.debugger_address).unwrap();
        // A dialog stays open until the test answers it, rather than being dismissed unseen.
        caps.set_unexpected_alert_behaviour(AlertBehaviour::Ignore).unwrap();
        let driver =
            WebDriver::new(&chromium.driver_url, caps).await.expect("a WebDriver session on the shared browser");
        let window = driver.new_window().await.expect("a new window");
        driver.switch_to_window(window).await.unwrap();
        driver.set_page_load_timeout(WAIT).await.unwrap();
        driver.set_script_timeout(WAIT).await.unwrap();
        let tab = Self { driver, base: base.to_string() };
        // Windows of concurrent tests share one browser; each page acts as the focused one
        // (the clipboard and :focus-visible need focus).
        tab.cdp("Emulation.setFocusEmulationEnabled", json!({"enabled": true})).await;
        tab.resize(DESKTOP).await;
        tab
    }

    /// Closes the window and ends the session (the browser stays for the other tests).
    pub async fn close(self) {
        let _ = self.driver.close_window().await;
        let _ = self.driver.clone().quit().await;
    }

    pub async fn cdp(&self, method: &str, params: Value) -> Value {
        self.driver.cdp().send_raw(method, params).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    pub async fn resize(&self, viewport: Viewport) {
        let metrics = json!({
            "width": viewport.width, "height": viewport.height, "deviceScaleFactor": 1, "mobile": viewport.mobile,
        });
        self.cdp("Emulation.setDeviceMetricsOverride", metrics).await;
    }

    pub fn url_of(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    /// Opens `path` (or a full URL) and waits for it to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url_of(path);
        self.driver.goto(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub async fn reload(&self) {
        self.driver.refresh().await.expect("reload");
    }

    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn js<T: DeserializeOwned>(&self, script: &str, args: Vec<Value>) -> T {
        let ret = self.driver.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
        ret.convert().unwrap_or_else(|e| panic!("script result {:?}: {e}", ret.json()))
    }

    /// Waits until `condition` (a JavaScript expression) holds on the page.
    pub async fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition});");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // A page being replaced (a form just submitted) may fail a script: ask again.
            if let Ok(ret) = self.driver.execute(&script, vec![]).await
                && ret.json() == &Value::Bool(true)
            {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out after {WAIT:?} waiting for {what} on {}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The first element matching `css`, waiting for one to appear.
    pub async fn find(&self, css: &str) -> WebElement {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(found) = self.driver.find_all(By::Css(css)).await
                && let Some(first) = found.into_iter().next()
            {
                return first;
            }
            if tokio::time::Instant::now() > deadline {
                let body = self.driver.source().await.unwrap_or_default();
                panic!("timed out after {WAIT:?} waiting for {css} on {}:\n{body}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Whether anything matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.driver.find_all(By::Css(css)).await.is_ok_and(|found| !found.is_empty())
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Types `text` into the field, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// The element's visible text, spaces collapsed.
    pub async fn text(&self, css: &str) -> String {
        let text = self.find(css).await.text().await.unwrap_or_default();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.driver.find_all(By::Css(css)).await.unwrap_or_default() {
            texts.push(element.text().await.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "));
        }
        texts
    }

    pub async fn checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.unwrap()
    }

    /// Presses keys on whatever has the focus, as a keyboard would.
    pub async fn press(&self, keys: impl Into<TypingData>) {
        self.driver.action_chain().send_keys(keys).perform().await.expect("key presses");
    }

    pub async fn press_tab(&self) {
        self.press(Key::Tab).await;
    }

    /// What has the keyboard focus: its id, else its tag and name.
    pub async fn focused(&self) -> String {
        self.js(
            "const e = document.activeElement;
             return e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}[name=${e.name || ''}][value=${e.value || ''}]`;",
            vec![],
        )
        .await
    }

    /// The text of the dialog (`confirm`, `alert`) the page shows, waiting for it to open.
    pub async fn dialog(&self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(text) = self.driver.get_alert_text().await {
                return text;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out after {WAIT:?} waiting for a dialog on {}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn has_dialog(&self) -> bool {
        self.driver.get_alert_text().await.is_ok()
    }

    pub async fn accept_dialog(&self) {
        self.driver.accept_alert().await.expect("accepting the dialog");
    }

    pub async fn dismiss_dialog(&self) {
        self.driver.dismiss_alert().await.expect("dismissing the dialog");
    }

    /// Lets this page's origin use the clipboard, as a person allowing it would.
    pub async fn allow_clipboard(&self) {
        let permissions =
            json!({"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": self.base});
        self.cdp("Browser.grantPermissions", permissions).await;
    }

    /// Pastes `text` into the field (through the clipboard and Ctrl+V, as a person would),
    /// replacing what it held.
    pub async fn paste(&self, css: &str, text: &str) {
        self.allow_clipboard().await;
        let script = "const done = arguments[arguments.length - 1];
                      navigator.clipboard.writeText(arguments[0]).then(() => done(''), (e) => done(String(e)));";
        let ret = self.driver.execute_async(script, vec![json!(text)]).await.expect("writing the clipboard");
        assert_eq!(ret.json(), &json!(""), "the clipboard refused the text");
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.click().await.unwrap();
        self.driver.action_chain().key_down(Key::Control).send_keys("v").key_up(Key::Control).perform().await.unwrap();
        let pasted = field.prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(pasted.replace("\r\n", "\n"), text, "pasting into {css}");
    }

    pub async fn clipboard(&self) -> String {
        let script = "const done = arguments[arguments.length - 1];
                      navigator.clipboard.readText().then(done, (e) => done(`unreadable: ${e}`));";
        let ret = self.driver.execute_async(script, vec![]).await.expect("reading the clipboard");
        ret.convert().unwrap()
    }
}

impl Drop for Tab {
    /// A test that failed before `close` leaves its window be: thirtyfour's own fallback
    /// would end the session with a blocking request from inside the test's runtime, which
    /// hangs until the request times out.
    fn drop(&mut self) {
        let _ = self.driver.clone().leak();
    }
}

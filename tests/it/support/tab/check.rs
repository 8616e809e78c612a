//! `Tab::check`: a page at phone and desktop widths. Nothing may reach past the viewport's
//! sides and axe-core may find nothing serious; screenshots are kept for a person to look at.

use serde_json::json;

use super::{DESKTOP, PHONE, Tab};
use crate::support::chromium::artifacts_dir;

/// axe-core (MPL-2.0), vendored: see `support/axe/README.md`.
const AXE: &str = include_str!("../axe/axe.min.js");

impl Tab {
    /// Looks at the page as it is at phone and desktop widths: nothing may stick out
    /// sideways, and axe-core may find nothing serious. Screenshots of both go to
    /// `target/browser/screenshots/{name}-{width}.png`. Leaves the window at desktop width.
    pub async fn check(&self, name: &str) {
        let mut problems = Vec::new();
        for viewport in [PHONE, DESKTOP] {
            self.resize(viewport).await;
            for problem in self.js::<Vec<String>>(OFF_SCREEN, vec![]).await {
                problems.push(format!("{name} at {} px: {problem}", viewport.width));
            }
            self.screenshot(&format!("{name}-{}", viewport.name)).await;
            for violation in self.axe().await {
                problems.push(format!("{name} at {} px: axe: {violation}", viewport.width));
            }
        }
        assert!(problems.is_empty(), "{} on {}:\n{}", name, self.path().await, problems.join("\n"));
    }

    /// The whole page, not just the viewport.
    pub async fn screenshot(&self, name: &str) {
        let shot = self.cdp("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true})).await;
        let png = shot["data"].as_str().expect("a screenshot");
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png).unwrap();
        let path = artifacts_dir().join("screenshots").join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// axe-core's serious and critical violations on the page as it is now.
    pub async fn axe(&self) -> Vec<String> {
        if !self.js::<bool>("return typeof window.axe === 'object';", vec![]).await {
            self.driver.execute(AXE, vec![]).await.expect("loading axe-core into the page");
        }
        let ret = self.driver.execute_async(RUN_AXE, vec![]).await.expect("running axe-core");
        ret.convert().unwrap()
    }
}

/// Elements that reach past the viewport's sides (the outermost of each), and a page wider
/// than the viewport. Clipped or visually hidden content does not count; content in a
/// scrolling box does, since a person has to scroll sideways to read it.
const OFF_SCREEN: &str = r#"
const width = document.documentElement.clientWidth;
const problems = [];
const pageWidth = document.documentElement.scrollWidth;
if (pageWidth > width) problems.push(`the page scrolls sideways: ${pageWidth} px wide`);
const hidden = (element) => {
  for (let e = element; e && e !== document.body; e = e.parentElement) {
    const style = getComputedStyle(e);
    if (style.clipPath !== "none" || style.visibility === "hidden") return true;
    if (style.overflow === "hidden" && e.getBoundingClientRect().width <= 1) return true;
  }
  return false;
};
const describe = (e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : "") +
  (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "");
const outside = new Set();
for (const element of document.body.querySelectorAll("*")) {
  const box = element.getBoundingClientRect();
  if (box.width === 0 && box.height === 0) continue;
  if (box.left >= -0.5 && box.right <= width + 0.5) continue;
  if (hidden(element)) continue;
  outside.add(element);
  if (outside.has(element.parentElement)) continue;
  const text = (element.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60);
  problems.push(`${describe(element)} spans ${Math.round(box.left)} to ${Math.round(box.right)} px ("${text}")`);
}
return problems;
"#;

const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] }).then(
  (results) => done(results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join(", ")})`)),
  (error) => done([`axe-core failed: ${error}`]));
"#;

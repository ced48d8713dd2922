//! Helpers shared by the `roster fix` tests: command lines against the demo and a check
//! of what is left.

use super::{DemoArgs, json, roster};
use roster::demo::Demo;

/// `roster <cmd>` reading the demo's three sources, then `extra`.
pub fn args(demo: &Demo, cmd: &str, extra: &[&str]) -> Vec<String> {
    DemoArgs::new(demo, cmd).with(extra).build()
}

/// `roster check -f json` against the demo, run with HOME in `home`; the parsed report.
pub async fn check(demo: &Demo, home: &std::path::Path) -> serde_json::Value {
    json(&roster(home, &args(demo, "check", &["-f", "json"]), &[]).await)
}

//! What the real binary says when the Consul address cannot work: which address (and
//! port) it knocked on, that a bare host means port 80, and that https:// was sent to a
//! plain-http server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tmux::{Tmux, WAIT, quote, skip_or_panic, tmux_available};
use common::{json, roster, stderr};
use roster::demo::Demo;

/// A loopback address of its own (Linux answers on all of 127/8), so that whatever
/// listens on 127.0.0.1:80 here does not matter.
const BARE_HOST: &str = "127.77.0.1";

/// False (after saying so) when something answers on BARE_HOST's port 80 after all.
fn port_80_closed() -> bool {
    if std::net::TcpStream::connect((BARE_HOST, 80)).is_ok() {
        skip_or_panic(&format!("something listens on {BARE_HOST}:80"));
        return false;
    }
    true
}

fn consul_errors(doc: &serde_json::Value) -> Vec<String> {
    let consul = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "consul")
        .unwrap_or_else(|| panic!("no consul source: {doc}"));
    assert_eq!(consul["status"], "error", "{consul}");
    consul["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

async fn check(consul: &str) -> (std::process::Output, Vec<String>) {
    let home = tempfile::tempdir().unwrap();
    let args: Vec<String> = ["check", "--consul", consul, "-f", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = roster(home.path(), &args, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let errors = consul_errors(&json(&out));
    (out, errors)
}

#[tokio::test]
async fn a_bare_host_is_port_80_and_the_error_says_so() {
    if !port_80_closed() {
        return;
    }
    let (out, errors) = check(BARE_HOST).await;
    let doc = json(&out);
    assert_eq!(
        doc["sources"][0]["location"],
        format!("http://{BARE_HOST}:80")
    );
    let [e] = errors.as_slice() else {
        panic!("{errors:?}")
    };
    assert!(
        e.starts_with(&format!("cannot reach Consul at http://{BARE_HOST}:80/v1/")),
        "{e}"
    );
    assert!(
        e.ends_with(&format!(
            "(no port given: Consul's HTTP API usually listens on :8500, e.g. --consul {BARE_HOST}:8500)"
        )),
        "{e}"
    );

    // The table says the same.
    let home = tempfile::tempdir().unwrap();
    let args: Vec<String> = ["check", "--consul", BARE_HOST]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let table = roster(home.path(), &args, &[]).await;
    let text = common::stdout(&table) + &stderr(&table);
    assert!(text.contains(&format!("http://{BARE_HOST}:80")), "{text}");
    assert!(text.contains("no port given"), "{text}");
}

#[tokio::test]
async fn https_without_a_port_points_at_8501() {
    if std::net::TcpStream::connect((BARE_HOST, 443)).is_ok() {
        skip_or_panic(&format!("something listens on {BARE_HOST}:443"));
        return;
    }
    let (_, errors) = check(&format!("https://{BARE_HOST}")).await;
    assert!(
        errors[0].contains(&format!("at https://{BARE_HOST}:443/v1/")),
        "{errors:?}"
    );
    assert!(
        errors[0].contains(&format!(
            "Consul's HTTPS API usually listens on :8501, e.g. --consul https://{BARE_HOST}:8501"
        )),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_closed_port_that_was_given_gets_no_port_hint() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (_, errors) = check(&format!("127.0.0.1:{port}")).await;
    assert!(
        errors[0].starts_with(&format!(
            "cannot reach Consul at http://127.0.0.1:{port}/v1/"
        )),
        "{errors:?}"
    );
    assert!(!errors[0].contains("no port given"), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_the_plain_http_simulator_says_it_does_not_speak_tls() {
    let demo = Demo::start().await.expect("demo");
    let https = demo.server().url().replace("http://", "https://");
    assert!(https.starts_with("https://127.0.0.1:"), "{https}");
    let (_, errors) = check(&https).await;
    let [e] = errors.as_slice() else {
        panic!("{errors:?}")
    };
    assert!(
        e.starts_with(&format!("cannot reach Consul at {https}/v1/")),
        "{e}"
    );
    assert!(
        e.ends_with(": the server does not speak TLS (is it plain http://?)"),
        "{e}"
    );
    assert!(!e.contains("InvalidContentType"), "{e}");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_shows_the_port_in_the_header_and_the_hint_in_sources() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    if !port_80_closed() {
        return;
    }
    let tmux = Tmux::start().await;
    tmux.wait_for("the shell prompt", WAIT, |s| s.contains("e2e$"))
        .await;
    let line = format!(
        "{} --consul {BARE_HOST}; echo roster-''exit=$?",
        quote(env!("CARGO_BIN_EXE_roster"))
    );
    tmux.type_text(&line).await;
    tmux.key("Enter").await;
    let header = format!("consul ERROR: cannot reach Consul at http://{BARE_HOST}:80/v1/");
    tmux.wait_for("the Consul error in the header", WAIT, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains(&header))
    })
    .await;
    tmux.type_text(":sources").await;
    tmux.key("Enter").await;
    // The overlay wraps the message anywhere; read it without spaces and borders.
    let hint =
        format!("(noportgiven:Consul'sHTTPAPIusuallylistenson:8500,e.g.--consul{BARE_HOST}:8500)");
    tmux.wait_for("the whole error in :sources", WAIT, |s| {
        let squeezed: String = s.chars().filter(char::is_ascii_graphic).collect();
        s.contains("Sources") && squeezed.contains(&hint)
    })
    .await;
    tmux.key("Escape").await;
    tmux.key("q").await;
    let shell = tmux
        .wait_for("the shell after quitting", WAIT, |s| {
            s.contains("roster-exit=")
        })
        .await;
    assert!(shell.contains("roster-exit=0"), "{shell}");
}

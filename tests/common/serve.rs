//! Running the real `roster serve` in a test: start it on a free port, ask it over HTTP,
//! read its metrics, stop it with a signal.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the service may take to start and to show a change (a bound for liveness,
/// not a measure of speed).
pub const WAIT: Duration = Duration::from_secs(30);

/// A running `roster serve`; killed on drop if the test did not stop it.
pub struct Served {
    child: Option<Child>,
    /// `127.0.0.1:port` it listens on.
    pub addr: String,
    /// Everything it wrote on stderr so far (its log).
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    /// Starts `roster serve --listen 127.0.0.1:0 <args>` with a clean environment and
    /// waits for the address it bound.
    pub fn start(home: &Path, args: &[String]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("ROSTER_LOG", "roster=debug")
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roster serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("roster serve: listening on http://") {
                        let _ = tx.send(addr.to_string());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(WAIT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "roster serve did not say where it listens:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Served {
            child: Some(child),
            addr,
            log,
        }
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET path`: status and body, None while nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(&self.addr, path)
    }

    /// `GET path`, which must answer.
    pub fn must_get(&self, path: &str) -> (u16, String) {
        self.get(path)
            .unwrap_or_else(|| panic!("no answer to GET {path}\nlog:\n{}", self.log()))
    }

    /// Polls `GET path` until `ok` holds for the answer; panics with the last answer and
    /// the log after [`WAIT`].
    pub fn until(&self, path: &str, what: &str, ok: impl Fn(u16, &str) -> bool) -> (u16, String) {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < WAIT {
            if let Some((status, body)) = self.get(path) {
                if ok(status, &body) {
                    return (status, body);
                }
                last = Some((status, body));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "GET {path}: {what} never happened; last answer: {last:?}\nlog:\n{}",
            self.log()
        );
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if start.elapsed() > WAIT {
                let _ = child.kill();
                panic!("roster serve did not stop on SIGTERM\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A plain HTTP/1.0 GET (no chunking to decode); None when nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// One sample of an exposition: name, labels, value.
pub type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition format (what the tests need of it: samples, escapes).
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => {
                let (n, v) = line.split_once(' ').expect("name value");
                out.push((
                    n.to_string(),
                    BTreeMap::new(),
                    v.trim().parse().expect("value"),
                ));
                continue;
            }
        };
        let mut labels = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "{line}");
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => panic!("{line}"),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key.trim_start_matches(',').to_string(), value);
            match chars.next() {
                Some(',') => {
                    if chars.peek() == Some(&'}') {
                        chars.next();
                        break;
                    }
                }
                Some('}') => break,
                other => panic!("{line}: unexpected {other:?}"),
            }
        }
        let value: String = chars.collect();
        out.push((
            name.to_string(),
            labels,
            value.trim().parse().expect("value"),
        ));
    }
    out
}

/// The value of the one sample of `name` whose labels include all of `with`.
pub fn sample(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

/// `promtool check metrics` on `text`: Err with its complaint when it rejects it, None
/// when promtool is not installed.
pub fn promtool_check_metrics(text: &str) -> Option<Result<(), String>> {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(said)
    })
}

/// Where Debian's prometheus package puts promtool.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// Rewrites the role of every identity-bearing service of a node the way pg-register does
/// (meta and the role tags).
pub fn reregister_node(catalog: &roster::sim::Catalog, node: &str, role: &str) {
    for name in catalog.service_names() {
        for (on, mut def) in catalog.service_instances(&name) {
            if on != node || !def.meta.contains_key("role") {
                continue;
            }
            def.meta.insert("role".into(), role.into());
            for t in &mut def.tags {
                if t == "primary" || t == "replica" {
                    *t = role.to_string();
                }
            }
            catalog
                .register_service(node, def)
                .unwrap_or_else(|e| panic!("{node}/{name}: {e}"));
        }
    }
}

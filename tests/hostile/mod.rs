//! A scripted HTTP/1.1 server for hostile-server tests: a closure answers each request,
//! every request is recorded (method, target, headers, body), and an answer may be an
//! endless chunked stream. Plus a one-cluster Consul fleet to serve with it.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query string ("" without one).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// True for a blocking query (it carries `wait=`).
    pub fn is_blocking(&self) -> bool {
        self.query().split('&').any(|p| p.starts_with("wait="))
    }

    /// Everything that arrived, as text, for searching.
    pub fn text(&self) -> String {
        let mut s = format!("{} {}\n", self.method, self.target);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

/// What an answer's body is.
#[derive(Clone, Debug)]
pub enum Body {
    /// These bytes, with a Content-Length.
    Full(Vec<u8>),
    /// 64 KiB chunks of blanks forever (chunked), until the client goes away.
    Endless,
}

/// One answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// 200 with a JSON body and `X-Consul-Index: 1`.
    pub fn json(v: &Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Consul-Index".into(), "1".into()),
                ("X-Consul-KnownLeader".into(), "true".into()),
            ],
            body: Body::Full(v.to_string().into_bytes()),
        }
    }

    /// A plain-text answer, as Consul gives its errors.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: Body::Full(body.as_bytes().to_vec()),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Body::Full(Vec::new()),
        }
    }

    /// 200 with a body that never ends.
    pub fn endless() -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Consul-Index".into(), "1".into()),
            ],
            body: Body::Endless,
        }
    }

    /// The same answer with another `X-Consul-Index`.
    pub fn index(mut self, index: u64) -> Reply {
        self.headers.retain(|(k, _)| k != "X-Consul-Index");
        self.headers
            .push(("X-Consul-Index".into(), index.to_string()));
        self
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running scripted server; it stops when dropped.
pub struct Tiny {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Tiny {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tiny {
    /// Listens on a free loopback port.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Tiny {
        Tiny::start_on(([127, 0, 0, 1], 0).into(), handler).await
    }

    /// Listens on `bind`.
    pub async fn start_on(
        bind: SocketAddr,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Tiny {
        let listener = TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let sent = Arc::new(AtomicU64::new(0));
        let handler: Handler = Arc::new(handler);
        let task = tokio::spawn({
            let requests = requests.clone();
            let sent = sent.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(
                        stream,
                        handler.clone(),
                        requests.clone(),
                        sent.clone(),
                    ));
                }
            }
        });
        Tiny {
            addr,
            requests,
            sent,
            task,
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Body bytes written so far (of endless bodies too).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Handler,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(request.clone());
    let reply = handler(&request);
    let mut head = format!("HTTP/1.1 {} Hostile\r\nConnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match reply.body {
        Body::Full(body) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            if stream.write_all(&bytes).await.is_ok() {
                sent.fetch_add(body.len() as u64, Ordering::Relaxed);
            }
            let _ = stream.shutdown().await;
        }
        Body::Endless => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            // Paced, so that a client that buffers everything grows slowly enough for
            // the test (and the machine) to survive it.
            while stream.write_all(&framed).await.is_ok() {
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// One instance of a Pigsty cluster as `health/service/postgres` lists it, on a node
/// with an agent (a `serfHealth` check).
pub fn entry(node: &str, address: &str, cluster: &str, seq: u32, role: &str) -> Value {
    json!({
        "Node": {"ID": "", "Node": node, "Address": address, "Datacenter": "dc1",
                 "TaggedAddresses": {}, "Meta": {}},
        "Service": {"ID": format!("{cluster}-{seq}-postgres"), "Service": "postgres",
                    "Tags": [role, cluster], "Address": "", "Port": 5432,
                    "Meta": {"cluster": cluster, "seq": seq.to_string(),
                             "instance": format!("{cluster}-{seq}"), "role": role}},
        "Checks": [
            {"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status",
             "Status": "passing", "ServiceID": "", "ServiceName": ""},
            {"Node": node, "CheckID": "service:postgres", "Name": "postgres",
             "Status": "passing", "ServiceID": format!("{cluster}-{seq}-postgres"),
             "ServiceName": "postgres"}
        ]
    })
}

/// The `agent/services` answer of the agent that holds `entry`'s service.
pub fn agent_services(entry: &Value) -> Value {
    let s = &entry["Service"];
    let id = s["ID"].as_str().unwrap_or_default().to_string();
    json!({ id.clone(): {
        "ID": id, "Service": s["Service"], "Tags": s["Tags"], "Meta": s["Meta"],
        "Port": s["Port"], "Address": s["Address"],
        "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": false,
        "Datacenter": "dc1"
    }})
}

/// A Consul that serves `entries` as the `postgres` service, lists the services named in
/// `others` too, is the agent of every node, and leaves every other request to `fallback`.
pub fn consul(
    entries: Vec<Value>,
    others: &[&str],
    fallback: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let mut services = serde_json::Map::new();
    services.insert("consul".into(), json!([]));
    services.insert("postgres".into(), json!([]));
    for o in others {
        services.insert((*o).to_string(), json!([]));
    }
    let services = Value::Object(services);
    move |r: &Request| match (r.method.as_str(), r.path()) {
        ("GET", "/v1/catalog/services") => Reply::json(&services),
        ("GET", "/v1/health/service/postgres") => Reply::json(&Value::Array(entries.clone())),
        ("GET", "/v1/health/service/consul") => Reply::json(&json!([])),
        ("GET", "/v1/agent/services") => {
            let mut all = serde_json::Map::new();
            for e in &entries {
                if let Value::Object(m) = agent_services(e) {
                    all.extend(m);
                }
            }
            Reply::json(&Value::Object(all))
        }
        _ => fallback(r),
    }
}

/// A target file (YAML) with one group per (seq, role, ip) of `cluster`.
pub fn target_file(cluster: &str, members: &[(u32, &str, &str)]) -> String {
    let mut s = String::new();
    for (seq, role, ip) in members {
        s.push_str(&format!(
            "- labels: {{cls: {cluster}, ins: {cluster}-{seq}, ip: {ip}, role: {role}}}\n  targets: [{ip}:9630]\n"
        ));
    }
    s
}

/// Runs the roster binary with a clean environment plus `env` (HOME in a fresh directory
/// unless given), killed if it is still running after `limit`.
pub async fn roster(
    args: &[String],
    env: &[(&str, &str)],
    limit: Duration,
) -> std::process::Output {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .args(args)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    match tokio::time::timeout(limit, cmd.output()).await {
        Ok(out) => out.expect("the roster binary runs"),
        Err(_) => panic!("roster {args:?} still running after {limit:?}"),
    }
}

/// Stdout and stderr as text.
pub fn texts(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Strings as owned arguments.
pub fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

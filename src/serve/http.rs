//! The HTTP side of `roster serve`: three read-only endpoints over the latest snapshot,
//! served with hyper, and a shutdown that lets requests in flight finish.

use super::metrics;
use super::process::ProcessStats;
use super::state::Snapshot;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long requests in flight may take to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(5);

/// A client that sends its request headers slower than this is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The latest snapshot, `None` until the first fleet is built.
pub type Latest = watch::Receiver<Option<Arc<Snapshot>>>;

type Resp = Response<Full<Bytes>>;

/// Serves until `shutdown` completes, then drains the open connections.
pub async fn serve(listener: TcpListener, latest: Latest, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(connection(stream, latest.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
        conns.shutdown().await;
    }
}

async fn connection(stream: TcpStream, latest: Latest, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let snapshot = latest.borrow().clone();
        async move { Ok::<_, Infallible>(respond(&req, snapshot.as_deref(), SystemTime::now())) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            // Finishes the request in flight, then closes (an idle connection at once).
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The answer to one request, from the snapshot of the moment.
pub fn respond<B>(req: &Request<B>, snapshot: Option<&Snapshot>, now: SystemTime) -> Resp {
    let path = req.uri().path();
    let known = matches!(path, "/" | "/metrics" | "/healthz" | "/api/v1/fleet");
    if !known {
        return text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz or /api/v1/fleet\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        // Nothing here writes: every other method is refused.
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut r = match path {
        "/metrics" => {
            let body = metrics::render(snapshot, now, &ProcessStats::read());
            with_type(StatusCode::OK, metrics::CONTENT_TYPE, body)
        }
        "/healthz" => healthz(snapshot, now),
        "/api/v1/fleet" => match snapshot {
            Some(s) => with_type(
                StatusCode::OK,
                "application/json",
                crate::report::json::render(&s.result),
            ),
            None => with_type(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                "{\"error\": \"no read of the sources has finished yet\"}\n".into(),
            ),
        },
        _ => text(
            StatusCode::OK,
            "roster serve: /metrics (Prometheus), /healthz, /api/v1/fleet (the check JSON)\n",
        ),
    };
    if req.method() == Method::HEAD {
        *r.body_mut() = Full::new(Bytes::new());
    }
    r
}

/// 200 while every source is read, else 503 naming each source that is not.
fn healthz(snapshot: Option<&Snapshot>, now: SystemTime) -> Resp {
    let Some(s) = snapshot else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no read of the sources has finished yet\n",
        );
    };
    if s.result.fleet.sources.is_empty() {
        let mut body = String::from("no source is read\n");
        for n in &s.result.notes {
            body.push_str(&crate::text::sanitize(n, 400));
            body.push('\n');
        }
        return text(StatusCode::SERVICE_UNAVAILABLE, &body);
    }
    let problems = s.problems(now);
    let (status, mut body) = if problems.is_empty() {
        (StatusCode::OK, String::from("ok\n"))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, String::from("unhealthy\n"))
    };
    for line in s.source_lines(now) {
        body.push_str(&line);
        body.push('\n');
    }
    text(status, &body)
}

fn text(status: StatusCode, body: &str) -> Resp {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

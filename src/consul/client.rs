//! A small Consul HTTP API client: configuration, reads (blocking or not) and writes.

use super::address::{Endpoint, with_port};
use super::error::ConsulError;
use super::secret::Secret;
use super::stream::{ArraySplitter, SplitError};
use super::tls::{TlsOptions, client_config};
use super::wire::{AgentSelf, HealthEntry, NodeServices, StateCheck};
use crate::encoding::base64;
use crate::text::sanitize;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// Everything needed to talk to one Consul HTTP endpoint.
#[derive(Clone, Debug)]
pub struct ConsulConfig {
    /// Where the API is.
    pub endpoint: Endpoint,
    /// ACL token, sent as `X-Consul-Token`.
    pub token: Option<Secret>,
    /// HTTP basic auth (`CONSUL_HTTP_AUTH`), user and password.
    pub basic_auth: Option<(String, Secret)>,
    /// Datacenter to query (`?dc=`); the agent's own when unset.
    pub datacenter: Option<String>,
    /// Enterprise namespace, sent only when set.
    pub namespace: Option<String>,
    /// Enterprise partition, sent only when set.
    pub partition: Option<String>,
    /// TLS settings for https endpoints.
    pub tls: TlsOptions,
    /// Limit for one non-blocking request.
    pub timeout: Duration,
    /// How many requests may be in flight at once.
    pub concurrency: usize,
    /// Most bytes read from one answer; a bigger one is an error for that request.
    pub max_response_bytes: u64,
    /// False when the address as written named no port (so the scheme's default is used),
    /// which a failed connection then points out.
    pub port_given: bool,
}

/// The default answer limit: a catalog of 50,000 instances answers in tens of megabytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Most bytes of an error answer kept for its message (only 300 characters are shown).
const ERROR_BODY_BYTES: u64 = 64 * 1024;

impl ConsulConfig {
    /// A configuration for an endpoint with the defaults for everything else.
    pub fn new(endpoint: Endpoint) -> ConsulConfig {
        ConsulConfig {
            endpoint,
            token: None,
            basic_auth: None,
            datacenter: None,
            namespace: None,
            partition: None,
            tls: TlsOptions::system(),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            port_given: true,
        }
    }
}

/// What Consul says about an answer besides its body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryMeta {
    /// `X-Consul-Index`, at least 1.
    pub index: u64,
    /// `X-Consul-KnownLeader`.
    pub known_leader: Option<bool>,
    /// `X-Consul-LastContact` in milliseconds.
    pub last_contact_ms: Option<u64>,
}

/// A blocking-query request: answer when the index passes `index`, or after `wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// The last index seen.
    pub index: u64,
    /// How long the server may hold the request.
    pub wait: Duration,
}

/// A Consul HTTP client bound to one endpoint.
#[derive(Clone, Debug)]
pub struct ConsulClient {
    http: reqwest::Client,
    config: ConsulConfig,
}

impl ConsulClient {
    /// Builds a client; fails only on configuration that cannot work.
    pub fn new(config: ConsulConfig) -> Result<ConsulClient, ConsulError> {
        let mut headers = HeaderMap::new();
        if let Some(token) = config.token.as_ref().filter(|t| !t.is_empty()) {
            let mut v = HeaderValue::from_str(token.expose()).map_err(|_| {
                ConsulError::Config("the ACL token contains characters a header cannot hold".into())
            })?;
            v.set_sensitive(true);
            headers.insert("X-Consul-Token", v);
        }
        if let Some((user, pass)) = &config.basic_auth {
            let raw = format!("{user}:{}", pass.expose());
            let mut v = HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes())))
                .map_err(|_| {
                    ConsulError::Config("CONSUL_HTTP_AUTH contains invalid characters".into())
                })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(config.concurrency.max(1))
            // Consul's API never redirects; a redirect would carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Endpoint::Unix(path) = &config.endpoint {
            builder = builder.unix_socket(path.as_str());
        }
        if config.endpoint.is_tls() && !config.tls.is_system() {
            builder = builder.use_preconfigured_tls(client_config(&config.tls)?);
        }
        let http = builder
            .build()
            .map_err(|e| ConsulError::Config(format!("HTTP client: {}", innermost(&e))))?;
        Ok(ConsulClient { http, config })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ConsulConfig {
        &self.config
    }

    /// The endpoint, for messages (never contains credentials).
    pub fn endpoint(&self) -> &Endpoint {
        &self.config.endpoint
    }

    /// The URL of an API path (`v1/...`) on this endpoint, with the standard query
    /// parameters (`dc`, `ns`, `partition`) added.
    pub fn url(&self, path: &str) -> Result<Url, ConsulError> {
        let mut url = self
            .config
            .endpoint
            .base()
            .join(path.trim_start_matches('/'))
            .map_err(|e| ConsulError::Config(format!("bad API path {path:?}: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(dc) = &self.config.datacenter {
                q.append_pair("dc", dc);
            }
            if let Some(ns) = &self.config.namespace {
                q.append_pair("ns", ns);
            }
            if let Some(p) = &self.config.partition {
                q.append_pair("partition", p);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// The URL of `v1/<segments...>` with each segment escaped (service names may hold anything).
    pub fn url_segments(&self, segments: &[&str]) -> Result<Url, ConsulError> {
        let mut url = self.url("v1/")?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ConsulError::Config("the Consul address cannot take a path".into()))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        Ok(url)
    }

    /// GETs a JSON answer; with `blocking`, as a blocking query.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: Url,
        blocking: Option<Blocking>,
    ) -> Result<(T, QueryMeta), ConsulError> {
        let shown = self.display_url(&url);
        let (body, meta) = self.get_body(url, blocking).await?;
        let value = decode(&shown, &body)?;
        Ok((value, meta))
    }

    /// GETs an answer's body, undecoded, so that the caller can decode it borrowing
    /// strings from it; with `blocking`, as a blocking query.
    pub async fn get_body(
        &self,
        mut url: Url,
        blocking: Option<Blocking>,
    ) -> Result<(bytes::Bytes, QueryMeta), ConsulError> {
        let timeout = self.blocking_query(&mut url, blocking);
        let shown = self.display_url(&url);
        let resp = self
            .http
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(&shown, &e, timeout))?;
        let meta = query_meta(resp.headers());
        let body = self.read_answer(&shown, resp, timeout).await?;
        Ok((bytes::Bytes::from(body), meta))
    }

    /// PUTs a JSON body and returns the raw answer body.
    pub async fn put(
        &self,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<bytes::Bytes, ConsulError> {
        let shown = self.display_url(&url);
        let timeout = self.config.timeout;
        let resp = self
            .http
            .put(url)
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(&shown, &e, timeout))?;
        let body = self.read_answer(&shown, resp, timeout).await?;
        Ok(bytes::Bytes::from(body))
    }

    /// The body of a successful answer, read under [`ConsulConfig::max_response_bytes`];
    /// a redirect or an error status is an error carrying the server's words.
    async fn read_answer(
        &self,
        shown: &str,
        mut resp: reqwest::Response,
        timeout: Duration,
    ) -> Result<Vec<u8>, ConsulError> {
        self.refuse_unsuccessful(shown, &mut resp, timeout).await?;
        let limit = self.config.max_response_bytes;
        // An announced length over the limit is refused without reading anything.
        let announced_over = resp.content_length().is_some_and(|n| n > limit);
        let (body, complete) = if announced_over {
            (Vec::new(), false)
        } else {
            read_capped(&mut resp, limit)
                .await
                .map_err(|e| self.transport_error(shown, &e, timeout))?
        };
        if !complete {
            return Err(ConsulError::TooLarge {
                url: shown.to_string(),
                limit,
            });
        }
        Ok(body)
    }

    /// `GET /v1/catalog/services`: service name -> tags.
    pub async fn services(
        &self,
        blocking: Option<Blocking>,
    ) -> Result<(BTreeMap<String, Vec<String>>, QueryMeta), ConsulError> {
        let url = self.url_segments(&["catalog", "services"])?;
        let (raw, meta): (BTreeMap<String, Option<Vec<String>>>, _) =
            self.get(url, blocking).await?;
        Ok((
            raw.into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
            meta,
        ))
    }

    /// `GET /v1/health/service/<name>`: every instance with its node and checks.
    pub async fn health_service(
        &self,
        name: &str,
        blocking: Option<Blocking>,
    ) -> Result<(Vec<HealthEntry>, QueryMeta), ConsulError> {
        let url = self.url_segments(&["health", "service", name])?;
        let (entries, meta): (Option<Vec<HealthEntry>>, _) = self.get(url, blocking).await?;
        Ok((entries.unwrap_or_default(), meta))
    }

    /// GETs a JSON array answer and hands each element's text to `each` as it arrives,
    /// so that no answer is ever held whole; with `blocking`, as a blocking query.
    pub async fn get_each(
        &self,
        mut url: Url,
        blocking: Option<Blocking>,
        mut each: impl FnMut(&str) -> Result<(), String>,
    ) -> Result<QueryMeta, ConsulError> {
        let timeout = self.blocking_query(&mut url, blocking);
        let shown = self.display_url(&url);
        let mut resp = self
            .http
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(&shown, &e, timeout))?;
        let meta = query_meta(resp.headers());
        self.refuse_unsuccessful(&shown, &mut resp, timeout).await?;
        let limit = self.config.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(ConsulError::TooLarge { url: shown, limit });
        }
        let mut received = 0u64;
        let mut splitter = ArraySplitter::default();
        let mut count = 0usize;
        let mut element = |raw: &[u8]| {
            count += 1;
            std::str::from_utf8(raw)
                .map_err(|e| e.to_string())
                .and_then(&mut each)
                .map_err(|e| format!("element {count}: {e}"))
        };
        let decode_error = |e: SplitError<String>| ConsulError::Decode {
            url: shown.clone(),
            // serde_json quotes the values it did not expect, and they are the server's.
            reason: sanitize(
                &match e {
                    SplitError::Syntax(s) => s.to_string(),
                    SplitError::Element(e) => e,
                },
                300,
            ),
        };
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(&shown, &e, timeout))?
        {
            received += chunk.len() as u64;
            if received > limit {
                return Err(ConsulError::TooLarge {
                    url: shown.clone(),
                    limit,
                });
            }
            splitter.feed(&chunk, &mut element).map_err(decode_error)?;
        }
        splitter.end().map_err(decode_error)?;
        Ok(meta)
    }

    /// Adds a blocking query's parameters to `url`; the request timeout that allows for it.
    fn blocking_query(&self, url: &mut Url, blocking: Option<Blocking>) -> Duration {
        let mut timeout = self.config.timeout;
        if let Some(b) = blocking {
            let mut q = url.query_pairs_mut();
            if b.index > 0 {
                q.append_pair("index", &b.index.to_string());
            }
            q.append_pair("wait", &format!("{}ms", b.wait.as_millis()));
            // The server may add up to wait/16 of jitter before answering.
            timeout += b.wait + b.wait / 16;
        }
        timeout
    }

    /// `GET /v1/health/state/<state>`: every check in that state, datacenter-wide (a
    /// blocking query on it wakes on any check change).
    pub async fn health_state(
        &self,
        state: &str,
        blocking: Option<Blocking>,
    ) -> Result<(Vec<StateCheck>, QueryMeta), ConsulError> {
        let url = self.url_segments(&["health", "state", state])?;
        let (checks, meta): (Option<Vec<StateCheck>>, _) = self.get(url, blocking).await?;
        Ok((checks.unwrap_or_default(), meta))
    }

    /// `GET /v1/catalog/node-services/<node>`: the names of the services on one node.
    pub async fn node_services(&self, node: &str) -> Result<NodeServices, ConsulError> {
        let url = self.url_segments(&["catalog", "node-services", node])?;
        let (services, _): (Option<NodeServices>, _) = self.get(url, None).await?;
        Ok(services.unwrap_or_default())
    }

    /// `GET /v1/agent/self`.
    pub async fn agent_self(&self) -> Result<AgentSelf, ConsulError> {
        let url = self.url_segments(&["agent", "self"])?;
        Ok(self.get(url, None).await?.0)
    }

    /// The URL as shown in messages: scheme, host, port (also a default one) and path,
    /// no credentials.
    fn display_url(&self, url: &Url) -> String {
        let mut u = url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        match self.config.endpoint {
            Endpoint::Http(_) => with_port(&u),
            // The socket path is what matters; the URL's host is a placeholder.
            Endpoint::Unix(_) => u.to_string(),
        }
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error, timeout: Duration) -> ConsulError {
        if e.is_timeout() {
            return ConsulError::Timeout {
                url: url.to_string(),
                secs: timeout.as_secs_f64(),
            };
        }
        if e.is_body() || e.is_decode() {
            return ConsulError::Body {
                url: url.to_string(),
                reason: innermost(e),
            };
        }
        let tls = tls_error(e);
        let mut reason = match tls {
            // rustls' words ("received corrupt message of type InvalidContentType") for
            // the commonest mistake: https:// to a plain-http Consul.
            Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                "the server does not speak TLS (is it plain http://?)".to_string()
            }
            _ => innermost(e),
        };
        if let Some(hint) = tls.and_then(tls_hint) {
            reason = format!("{reason} ({hint})");
        }
        // TLS 1.3 finishes the client's side of the handshake before the server checks
        // its certificate: a refusal may arrive as a closed connection, not as an alert.
        let https = matches!(&self.config.endpoint, Endpoint::Http(u) if u.scheme() == "https");
        if tls.is_none() && !e.is_connect() && https && self.config.tls.client_cert.is_none() {
            reason = format!(
                "{reason} (the server closed the TLS connection; if it requires a client certificate, set CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY)"
            );
        }
        if let (false, Endpoint::Http(base)) = (self.config.port_given, &self.config.endpoint) {
            reason = format!("{reason} ({})", no_port_hint(base));
        }
        ConsulError::Connect {
            url: url.to_string(),
            reason,
        }
    }

    /// Turns a redirect or an error status into an error carrying the server's words
    /// (read under [`ERROR_BODY_BYTES`]).
    async fn refuse_unsuccessful(
        &self,
        shown: &str,
        resp: &mut reqwest::Response,
        timeout: Duration,
    ) -> Result<(), ConsulError> {
        let status = resp.status();
        if status.is_redirection() {
            return Err(redirect_error(shown, resp));
        }
        if !status.is_success() {
            let (body, _) = read_capped(resp, ERROR_BODY_BYTES)
                .await
                .map_err(|e| self.transport_error(shown, &e, timeout))?;
            return Err(status_error(shown, status.as_u16(), &body));
        }
        Ok(())
    }
}

/// Decodes a JSON body read from `url` (as shown in messages).
///
/// The body's UTF-8 is checked once, up front: checking each string as the parser
/// meets it costs more on the large answers of a big catalog.
pub fn decode<'a, T: serde::Deserialize<'a>>(url: &str, body: &'a [u8]) -> Result<T, ConsulError> {
    let error = |reason: String| ConsulError::Decode {
        url: url.to_string(),
        reason,
    };
    let text = std::str::from_utf8(body).map_err(|e| error(e.to_string()))?;
    // serde_json quotes the values it did not expect, and they are the server's.
    serde_json::from_str(text).map_err(|e| error(sanitize(&e.to_string(), 300)))
}

/// Reads at most `limit` bytes of a body as it streams in; `false` when there was more.
///
/// The limit is checked before a chunk is kept, so memory stays bounded even when the
/// server announces no length or streams without end.
async fn read_capped(
    resp: &mut reqwest::Response,
    limit: u64,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let hint = resp.content_length().unwrap_or(0).min(limit).min(1 << 24);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            let room = usize::try_from(limit).unwrap_or(usize::MAX) - body.len();
            body.extend_from_slice(&chunk[..room.min(chunk.len())]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// A redirect answer as an error naming where it pointed (host and port only).
fn redirect_error(url: &str, resp: &reqwest::Response) -> ConsulError {
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| resp.url().join(l).ok())
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port_or_known_default() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .map_or_else(|| "an unusable Location".to_string(), |l| sanitize(&l, 200));
    ConsulError::Redirect {
        url: url.to_string(),
        status: resp.status().as_u16(),
        location,
    }
}

fn query_meta(h: &HeaderMap) -> QueryMeta {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    QueryMeta {
        index: get("X-Consul-Index")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0),
        known_leader: get("X-Consul-KnownLeader").map(|v| v == "true"),
        last_contact_ms: get("X-Consul-LastContact").and_then(|v| v.parse().ok()),
    }
}

fn status_error(url: &str, status: u16, body: &[u8]) -> ConsulError {
    let text = String::from_utf8_lossy(body);
    let body = sanitize(&text, 300);
    ConsulError::Status {
        url: url.to_string(),
        status,
        body: if body.is_empty() {
            "(empty body)".into()
        } else {
            body
        },
    }
}

/// Where Consul usually is when the address named no port and the scheme's default was
/// tried: 8500 for http, 8501 for https.
fn no_port_hint(base: &Url) -> String {
    let (port, scheme) = if base.scheme() == "https" {
        (8501, "https://")
    } else {
        (8500, "")
    };
    let host = base.host_str().unwrap_or("127.0.0.1");
    format!(
        "no port given: Consul's {} API usually listens on :{port}, e.g. --consul {scheme}{host}:{port}",
        if scheme.is_empty() { "HTTP" } else { "HTTPS" }
    )
}

/// The rustls error somewhere in a chain, also inside (nested) `io::Error`s, whose
/// `source` skips the error they wrap.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    None
}

/// What to do about a TLS failure, in the Consul CLI's terms.
fn tls_hint(e: &rustls::Error) -> Option<&'static str> {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as Tls};
    match e {
        Tls::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => Some(
            "the server's certificate is not signed by a trusted CA; set CONSUL_CACERT or CONSUL_CAPATH to the CA that signed it",
        ),
        Tls::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            Some(
                "the server's certificate does not name this host; set CONSUL_TLS_SERVER_NAME to a name it holds",
            )
        }
        Tls::AlertReceived(
            Alert::CertificateRequired
            | Alert::BadCertificate
            | Alert::UnknownCA
            | Alert::CertificateUnknown
            | Alert::AccessDenied,
        ) => Some(
            "the server did not accept a client certificate; CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must name one its CA signed",
        ),
        _ => None,
    }
}

/// The innermost cause of an error chain, which is the part a human can act on.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    sanitize(&cur.to_string(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_prefix_and_escape_names() {
        let mut cfg = ConsulConfig::new(Endpoint::parse("http://c:8500/consul", false).unwrap());
        cfg.datacenter = Some("dc 2".into());
        let c = ConsulClient::new(cfg).unwrap();
        let u = c.url_segments(&["health", "service", "a/b c"]).unwrap();
        assert_eq!(
            u.as_str(),
            "http://c:8500/consul/v1/health/service/a%2Fb%20c?dc=dc+2"
        );
    }
}

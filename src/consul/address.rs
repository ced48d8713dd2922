//! Consul addresses written the way the Consul CLI accepts them.

use super::error::ConsulError;
use url::Url;

/// Where to reach Consul's HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// An http(s) base URL; any path is a prefix in front of `/v1/`.
    Http(Url),
    /// A unix socket path (`unix:///path`).
    Unix(String),
}

impl Endpoint {
    /// Parses `host:port`, `http://…`, `https://…` or `unix:///path`.
    ///
    /// A bare `host:port` is http unless `ssl` is set, as `CONSUL_HTTP_SSL` does for the CLI.
    pub fn parse(raw: &str, ssl: bool) -> Result<Endpoint, ConsulError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ConsulError::Config("the Consul address is empty".into()));
        }
        if let Some(path) = raw.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(ConsulError::Config(format!(
                    "the Consul address {raw:?} names no socket path"
                )));
            }
            return Ok(Endpoint::Unix(path.to_string()));
        }
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else if ssl {
            format!("https://{raw}")
        } else {
            format!("http://{raw}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|e| {
            ConsulError::Config(format!("the Consul address {raw:?} is not valid: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConsulError::Config(format!(
                "the Consul address {raw:?} has scheme {:?}; use http, https or unix",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConsulError::Config(format!(
                "the Consul address {raw:?} has no host"
            )));
        }
        if ssl && url.scheme() == "http" && !raw.contains("://") {
            let _ = url.set_scheme("https");
        }
        // Credentials in the URL would end up in every error message; Consul takes
        // them from CONSUL_HTTP_AUTH instead.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConsulError::Config(
                "the Consul address must not contain credentials; use CONSUL_HTTP_AUTH".into(),
            ));
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(Endpoint::Http(url))
    }

    /// The base URL requests are built on (`http://localhost/` for a unix socket).
    pub fn base(&self) -> Url {
        match self {
            Endpoint::Http(u) => u.clone(),
            // A constant URL: it parses or every unix-socket test fails.
            #[allow(clippy::expect_used)]
            Endpoint::Unix(_) => Url::parse("http://localhost/").expect("constant URL parses"),
        }
    }

    /// True for an https endpoint.
    pub fn is_tls(&self) -> bool {
        matches!(self, Endpoint::Http(u) if u.scheme() == "https")
    }

    /// True when traffic stays on this machine (loopback host or unix socket).
    pub fn is_local(&self) -> bool {
        match self {
            Endpoint::Unix(_) => true,
            Endpoint::Http(u) => match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            },
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Http(u) => f.write_str(with_port(u).trim_end_matches('/')),
            Endpoint::Unix(p) => write!(f, "unix://{p}"),
        }
    }
}

/// The URL with its port written out even when it is the scheme's default, which the
/// URL form leaves out: `http://127.0.0.1/` is shown as `http://127.0.0.1:80/`, so a message
/// says where roster really knocked.
pub fn with_port(url: &Url) -> String {
    let (Some(host), None, Some(port)) = (url.host_str(), url.port(), url.port_or_known_default())
    else {
        return url.to_string();
    };
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}://{host}:{port}{}{query}", url.scheme(), url.path())
}

/// True when an address as written (`host:port`, `http://host:port/…`) names a port; the
/// Consul CLI, like roster, reads a bare host as the scheme's default port (80 or 443).
pub fn names_port(raw: &str) -> bool {
    let raw = raw.trim();
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(']') {
        // An IPv6 literal: a port only after the closing bracket.
        Some((_, after)) => after.starts_with(':'),
        None => host_port.contains(':'),
    }
}

/// Parses a boolean the way Go's `strconv.ParseBool` does, as the Consul CLI reads its variables.
pub fn parse_go_bool(name: &str, raw: &str) -> Result<bool, ConsulError> {
    let raw = raw.trim();
    crate::go_syntax::parse_bool(raw).ok_or_else(|| {
        ConsulError::Config(format!(
            "{name}={raw:?} is not a boolean (use true or false)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(raw: &str, ssl: bool) -> String {
        match Endpoint::parse(raw, ssl) {
            Ok(Endpoint::Http(u)) => u.to_string(),
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn tells_whether_a_port_was_given() {
        for given in [
            "127.0.0.1:8500",
            "http://127.0.0.1:80",
            "https://consul:443/prefix",
            "[::1]:8500",
            "http://[::1]:8500/",
        ] {
            assert!(names_port(given), "{given}");
        }
        for bare in [
            "127.0.0.1",
            "http://127.0.0.1",
            "https://consul/prefix:x",
            "[::1]",
            "http://[::1]/",
        ] {
            assert!(!names_port(bare), "{bare}");
        }
    }

    #[test]
    fn shows_the_default_port_it_uses() {
        let shown = |raw: &str| Endpoint::parse(raw, false).unwrap().to_string();
        assert_eq!(shown("127.0.0.1"), "http://127.0.0.1:80");
        assert_eq!(shown("http://127.0.0.1:80"), "http://127.0.0.1:80");
        assert_eq!(shown("https://consul/prefix"), "https://consul:443/prefix");
        assert_eq!(shown("127.0.0.1:8500"), "http://127.0.0.1:8500");
        assert_eq!(shown("http://[::1]"), "http://[::1]:80");
        assert_eq!(shown("unix:///run/consul.sock"), "unix:///run/consul.sock");
    }

    #[test]
    fn accepts_the_cli_forms() {
        assert_eq!(http("127.0.0.1:8500", false), "http://127.0.0.1:8500/");
        assert_eq!(http("127.0.0.1:8500", true), "https://127.0.0.1:8500/");
        assert_eq!(http("https://consul:8501", false), "https://consul:8501/");
        assert_eq!(http("http://c:8500/prefix", false), "http://c:8500/prefix/");
        assert_eq!(
            Endpoint::parse("unix:///run/consul.sock", false),
            Ok(Endpoint::Unix("/run/consul.sock".into()))
        );
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            "",
            "ftp://x:1",
            "unix://",
            "http://user:pw@c:8500",
            "http://",
        ] {
            assert!(Endpoint::parse(bad, false).is_err(), "{bad}");
        }
        let err = Endpoint::parse("http://user:s3cret@c:8500", false).unwrap_err();
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn locality() {
        assert!(Endpoint::parse("127.0.0.1:8500", false).unwrap().is_local());
        assert!(Endpoint::parse("localhost:8500", false).unwrap().is_local());
        assert!(!Endpoint::parse("10.1.1.1:8500", false).unwrap().is_local());
        // Not a loopback address, although Linux answers it locally: warned about.
        assert!(!Endpoint::parse("0.0.0.0:8500", false).unwrap().is_local());
    }

    #[test]
    fn go_bools() {
        assert_eq!(parse_go_bool("X", "T").ok(), Some(true));
        assert_eq!(parse_go_bool("X", "0").ok(), Some(false));
        assert!(parse_go_bool("X", "yes").is_err());
    }
}

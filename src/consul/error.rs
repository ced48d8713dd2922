//! Errors talking to Consul, each naming the URL and carrying the server's own words.

use thiserror::Error;

/// Everything that can go wrong between roster and Consul.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConsulError {
    /// The configuration cannot work (bad address, half a client certificate, unreadable file).
    #[error("Consul configuration: {0}")]
    Config(String),
    /// No connection could be made.
    #[error("cannot reach Consul at {url}: {reason}")]
    Connect {
        /// The URL requested.
        url: String,
        /// The innermost cause (e.g. `Connection refused`).
        reason: String,
    },
    /// The request took longer than allowed.
    #[error("Consul did not answer {url} within {secs:.1}s")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The limit that ran out.
        secs: f64,
    },
    /// Consul answered with a status other than 200; its plain-text body says why.
    #[error("{url}: {status} {body}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's message, made safe to print.
        body: String,
    },
    /// The answer could not be decoded.
    #[error("{url}: the answer is not the JSON Consul sends: {reason}")]
    Decode {
        /// The URL requested.
        url: String,
        /// What the decoder said.
        reason: String,
    },
    /// The server answered with a redirect, which roster never follows: Consul's API does
    /// not redirect, and following one would send the token to another host.
    #[error(
        "Consul at {url} answered {status} redirect to {location}; roster does not follow redirects"
    )]
    Redirect {
        /// The URL requested.
        url: String,
        /// The 3xx status.
        status: u16,
        /// The host and port the redirect points to (or why there is none).
        location: String,
    },
    /// The answer is bigger than roster reads from one request.
    #[error(
        "{url}: the answer is larger than the {limit}-byte limit ([consul] max_response_bytes); not read"
    )]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit that was reached.
        limit: u64,
    },
    /// The connection broke while reading the answer.
    #[error("{url}: the answer was cut off: {reason}")]
    Body {
        /// The URL requested.
        url: String,
        /// The innermost cause.
        reason: String,
    },
}

impl ConsulError {
    /// The HTTP status, when Consul answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConsulError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

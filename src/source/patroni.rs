//! Asking Patroni's REST API (`GET /patroni`), the live witness that needs no password.

use super::live::{LiveProbe, ProbeError};
use std::time::Duration;

/// Reads one member's role and state from its Patroni REST API.
pub async fn probe_patroni(
    _http: &reqwest::Client,
    _ip: &str,
    _port: u16,
    _timeout: Duration,
) -> Result<LiveProbe, ProbeError> {
    Err(ProbeError::Other("the Patroni probe is not built yet".into()))
}

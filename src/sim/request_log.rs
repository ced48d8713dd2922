//! The last requests the simulator received, in arrival order, so a test can check what a
//! client asked (a blocking query's `index`, a re-read without one) and not only how often.

use super::query::Query;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Most requests kept; older ones are forgotten so a long demo run stays small.
const KEEP: usize = 10_000;

/// One request as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its number among every request the server received, from 1 (see `request_count`).
    pub seq: u64,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query string (`/v1/health/service/postgres`).
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
}

impl LoggedRequest {
    /// The first value of a query parameter (empty for a bare flag).
    pub fn param(&self, key: &str) -> Option<String> {
        Query::parse(self.query.as_deref())
            .get(key)
            .map(str::to_string)
    }

    /// True for a blocking query: one that names the index it waits to pass.
    pub fn has_index(&self) -> bool {
        self.param("index").is_some()
    }
}

/// A bounded, shared log of requests.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<LoggedRequest>>,
}

impl RequestLog {
    /// Records one request.
    pub fn record(&self, entry: LoggedRequest) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= KEEP {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Every kept request numbered above `after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<LoggedRequest> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<LoggedRequest> =
            entries.iter().filter(|r| r.seq > after).cloned().collect();
        // Two requests arriving together may be recorded out of turn.
        out.sort_by_key(|r| r.seq);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(seq: u64, path: &str, query: Option<&str>) -> LoggedRequest {
        LoggedRequest {
            seq,
            method: "GET".into(),
            path: path.into(),
            query: query.map(str::to_string),
        }
    }

    #[test]
    fn keeps_the_latest_requests_in_order() {
        let log = RequestLog::default();
        for seq in 1..=(KEEP as u64 + 2) {
            log.record(get(seq, "/v1/catalog/services", Some("index=5&wait=1s")));
        }
        let all = log.since(0);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].seq, 3, "the oldest are forgotten");
        assert_eq!(log.since(KEEP as u64 + 1).len(), 1);
        assert!(all[0].has_index());
        assert_eq!(all[0].param("wait").as_deref(), Some("1s"));
        assert!(!get(1, "/v1/health/service/x", None).has_index());
    }
}

//! Consul in several datacenters: the list (`/v1/catalog/datacenters`, nearest first),
//! then each datacenter through the same agent (`?dc=`), every one its own source read.
//!
//! The requests in flight stay within the configured concurrency overall: each
//! datacenter gets a share of it, and only as many datacenters are read at once as
//! there are shares.

use crate::consul::{ConsulClient, ConsulConfig, ConsulError};
use crate::observation::{SourceKind, SourceOutput, SourceReport};
use crate::source::consul::{ConsulIndices, read_consul_indexed};
use futures::stream::{self, StreamExt};

/// The datacenters' Consul reads.
#[derive(Debug, Default)]
pub struct DatacenterReads {
    /// The datacenters read, nearest first (empty when the list could not be had).
    pub names: Vec<String>,
    /// One output per datacenter, in that order, each report naming its datacenter; or
    /// the one failed read of the list.
    pub outputs: Vec<SourceOutput>,
    /// The index of every answer, per datacenter, for its watch to continue from.
    pub indices: Vec<(String, ConsulIndices)>,
}

/// How to share `concurrency` among `n` datacenters: (requests per datacenter,
/// datacenters read at once), so that their product never exceeds it.
pub fn shares(concurrency: usize, n: usize) -> (usize, usize) {
    let concurrency = concurrency.max(1);
    let per = (concurrency / n.max(1)).max(1);
    (per, (concurrency / per).max(1))
}

/// A client for one datacenter through the configured agent, with its share of requests.
pub fn client_for(
    config: &ConsulConfig,
    dc: &str,
    per: usize,
) -> Result<ConsulClient, ConsulError> {
    let mut c = config.clone();
    c.datacenter = Some(dc.to_string());
    c.concurrency = per;
    ConsulClient::new(c)
}

/// `GET /v1/catalog/datacenters` through the agent: every datacenter, nearest first.
pub async fn list(config: &ConsulConfig) -> Result<Vec<String>, ConsulError> {
    let mut agent = config.clone();
    agent.datacenter = None;
    let client = ConsulClient::new(agent)?;
    let url = client.url_segments(&["catalog", "datacenters"])?;
    let (names, _): (Option<Vec<String>>, _) = client.get(url, None).await?;
    Ok(names.unwrap_or_default())
}

/// Reads `names` (every datacenter Consul lists when empty).
pub async fn read(config: &ConsulConfig, names: &[String]) -> DatacenterReads {
    let names = if names.is_empty() {
        match list(config).await {
            Ok(n) => n,
            Err(e) => return listing_failed(config, &e),
        }
    } else {
        names.to_vec()
    };
    let (per, at_once) = shares(config.concurrency, names.len());
    let reads: Vec<(SourceOutput, ConsulIndices)> = stream::iter(names.clone())
        .map(|dc| async move {
            let (mut out, indices) = match client_for(config, &dc, per) {
                Ok(client) => read_consul_indexed(&client).await,
                Err(e) => {
                    let mut r = SourceReport::new(SourceKind::Consul, config.endpoint.to_string());
                    r.error(e.to_string());
                    (SourceOutput::new(r, Vec::new()), ConsulIndices::default())
                }
            };
            out.report.datacenter = Some(dc);
            (out, indices)
        })
        .buffered(at_once)
        .collect()
        .await;
    let mut result = DatacenterReads {
        names,
        ..DatacenterReads::default()
    };
    for (out, indices) in reads {
        if let Some(dc) = &out.report.datacenter {
            result.indices.push((dc.clone(), indices));
        }
        result.outputs.push(out);
    }
    result
}

fn listing_failed(config: &ConsulConfig, e: &ConsulError) -> DatacenterReads {
    let mut r = SourceReport::new(SourceKind::Consul, config.endpoint.to_string());
    if matches!(e, ConsulError::Connect { .. }) {
        r.facts.insert("unreachable".into(), "true".into());
    }
    r.error(format!("listing the datacenters: {e}"));
    DatacenterReads {
        outputs: vec![SourceOutput::new(r, Vec::new())],
        ..DatacenterReads::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_shared_not_multiplied() {
        assert_eq!(shares(16, 1), (16, 1));
        assert_eq!(shares(16, 3), (5, 3));
        assert_eq!(shares(16, 40), (1, 16));
        assert_eq!(shares(1, 3), (1, 1));
        for c in 1..40 {
            for n in 0..50 {
                let (per, at_once) = shares(c, n);
                assert!(per * at_once <= c.max(1), "{c} {n}");
            }
        }
    }
}

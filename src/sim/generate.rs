//! Generates large Pigsty-shaped fleets (for benchmarks and scale tests), drift optional.

use super::spec::{
    ClusterSpec, ConsulOverride, FleetSpec, InfraNode, MemberSpec, PlaceOverride, Release,
    ServiceOverride,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::net::Ipv4Addr;

/// How [`FleetSpec::generate`] shapes the fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Members per cluster (seq 1 is the primary).
    pub members: usize,
    /// Plant one drift in every Nth cluster, rotating through the drift kinds.
    pub drift_every: Option<usize>,
    /// Seed for the choices made while planting drift (which member).
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            members: 4,
            drift_every: None,
            seed: 0,
        }
    }
}

/// The drift kinds the generator plants, in rotation order.
pub const DRIFT_KINDS: [&str; 8] = [
    "failover-consul-followed",
    "half-rewritten-registration",
    "decommissioned-without-leave",
    "switchover-without-callback",
    "instance-name-typo",
    "unknown-role-word",
    "node-replaced",
    "inventory-only",
];

/// The `k`th generated node address: 127.(20+).x.y, never .0 or .255 as the host part.
pub fn generated_ip(k: usize) -> String {
    let host = (k % 254 + 1) as u8;
    let third = ((k / 254) % 256) as u8;
    let second = (20 + k / (254 * 256)).min(255) as u8;
    Ipv4Addr::new(127, second, third, host).to_string()
}

fn set_role(o: &mut PlaceOverride, role: &str) {
    o.role = Some(role.to_string());
}

/// Plants drift kind `kind` into `c`; kinds needing a replica fall back when there is none.
fn plant(c: &mut ClusterSpec, kind: usize, rng: &mut StdRng, next_ip: &mut dyn FnMut() -> String) {
    let n = c.members.len();
    let kind = if n < 2 { 4 + kind % 4 } else { kind };
    let pick = if n >= 2 { rng.random_range(1..n) } else { 0 };
    let name = c.name.clone();
    match kind {
        0 | 1 | 3 => {
            // A failover from seq 1 to `pick`: the real roles swap.
            c.members[0].role = "replica".into();
            c.members[pick].role = "primary".into();
            for (i, role) in [(0, "primary"), (pick, "replica")] {
                let m = &mut c.members[i];
                set_role(&mut m.targets, role);
                set_role(&mut m.inventory, role);
                if kind == 3 {
                    m.consul.role = Some(role.to_string());
                }
            }
            if kind == 1 {
                let svcs = &mut c.members[pick].consul.services;
                for s in ["pgbouncer", "pgbouncer-exporter", "node-exporter"] {
                    svcs.insert(
                        s.to_string(),
                        ServiceOverride {
                            role: Some("replica".into()),
                            absent: false,
                        },
                    );
                }
            }
        }
        2 => {
            let m = &mut c.members[n - 1];
            m.consul.node_down = true;
            m.targets.absent = true;
            m.inventory.absent = true;
        }
        4 => {
            let m = &mut c.members[n - 1];
            m.targets.ins = Some(format!("{name}-{}0", m.seq));
        }
        5 => set_role(&mut c.members[n - 1].inventory, "standby_leader"),
        6 => {
            let m = &mut c.members[n - 1];
            let old = std::mem::replace(&mut m.ip, next_ip());
            m.consul.ip = Some(old);
        }
        _ => {
            for m in &mut c.members {
                m.consul.absent = true;
                m.targets.absent = true;
            }
        }
    }
}

impl FleetSpec {
    /// A fleet of `clusters` clusters named `pg-0001`..., with unique loopback addresses.
    pub fn generate(clusters: usize, opts: &GenerateOptions) -> FleetSpec {
        let members = opts.members.max(1);
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let mut k = 0usize;
        let mut next_ip = move || {
            let ip = generated_ip(k);
            k += 1;
            ip
        };
        // Replacement addresses come after every member's, so planting drift never
        // shifts the addresses of the clusters that follow.
        let mut spare = clusters * members;
        let mut spare_ip = move || {
            let ip = generated_ip(spare);
            spare += 1;
            ip
        };
        let mut out = Vec::with_capacity(clusters);
        for i in 0..clusters {
            let name = format!("pg-{:04}", i + 1);
            let mut c = ClusterSpec {
                name,
                timeline: 1,
                members: (1..=members)
                    .map(|seq| MemberSpec {
                        seq: seq as u32,
                        ip: next_ip(),
                        role: if seq == 1 { "primary" } else { "replica" }.to_string(),
                        node: None,
                        consul: ConsulOverride::default(),
                        targets: PlaceOverride::default(),
                        inventory: PlaceOverride::default(),
                    })
                    .collect(),
            };
            if let Some(every) = opts.drift_every.filter(|&e| e > 0)
                && (i + 1) % every == 0
            {
                let kind = ((i + 1) / every - 1) % DRIFT_KINDS.len();
                plant(&mut c, kind, &mut rng, &mut spare_ip);
            }
            out.push(c);
        }
        FleetSpec {
            datacenter: "dc1".into(),
            release: Release::V0_7,
            infra: vec![InfraNode {
                node: "meta".into(),
                ip: "127.19.0.2".into(),
                services: vec!["consul".into(), "prometheus".into(), "grafana".into()],
            }],
            clusters: out,
            datacenters: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn counts_unique_addresses_and_one_primary() {
        let spec = FleetSpec::generate(300, &GenerateOptions::default());
        assert_eq!(spec.clusters.len(), 300);
        assert_eq!(spec.instance_count(), 1200);
        let ips: HashSet<_> = spec.members().map(|(_, m)| m.ip.clone()).collect();
        assert_eq!(ips.len(), 1200);
        for ip in &ips {
            let last: u8 = ip.rsplit('.').next().unwrap().parse().unwrap();
            assert!(last != 0 && last != 255, "{ip}");
        }
        for c in &spec.clusters {
            let seqs: HashSet<_> = c.members.iter().map(|m| m.seq).collect();
            assert_eq!(seqs.len(), c.members.len());
            assert_eq!(c.members.iter().filter(|m| m.role == "primary").count(), 1);
            assert_eq!(c.members[0].role, "primary");
        }
        spec.validate().unwrap();
    }

    #[test]
    fn drift_is_planted_in_every_nth_cluster_and_keeps_one_primary() {
        let opts = GenerateOptions {
            members: 3,
            drift_every: Some(2),
            seed: 7,
        };
        let spec = FleetSpec::generate(40, &opts);
        spec.validate().unwrap();
        let clean = FleetSpec::generate(
            40,
            &GenerateOptions {
                drift_every: None,
                ..opts.clone()
            },
        );
        for (i, (a, b)) in spec.clusters.iter().zip(&clean.clusters).enumerate() {
            assert_eq!(a != b, i % 2 == 1, "cluster {i}");
            assert_eq!(a.members.iter().filter(|m| m.role == "primary").count(), 1);
        }
        // 20 drifted clusters rotate through all 8 kinds: a node went down somewhere.
        assert!(spec.members().any(|(_, m)| m.consul.node_down));
        assert!(spec.members().any(|(_, m)| m.consul.ip.is_some()));
        assert!(spec.members().any(|(_, m)| m.consul.absent));
        let ips: HashSet<_> = spec.members().map(|(_, m)| m.ip.clone()).collect();
        assert_eq!(ips.len(), spec.instance_count());
        assert_eq!(spec, FleetSpec::generate(40, &opts), "deterministic");
    }

    #[test]
    fn addresses_do_not_repeat_across_a_large_range() {
        let ips: HashSet<_> = (0..200_000).map(generated_ip).collect();
        assert_eq!(ips.len(), 200_000);
        assert_eq!(generated_ip(0), "127.20.0.1");
        assert_eq!(generated_ip(254), "127.20.1.1");
    }
}

//! Renders a fleet spec into Pigsty's Prometheus static target files and inventory.

use super::spec::{ClusterSpec, FleetSpec, MemberSpec, Recorded};
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Which file layout the target files are written in (Pigsty changed it across releases).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetLayout {
    /// One `all.yml` with every group (0.6).
    All,
    /// One `<cls>.yml` per cluster (0.8/0.9).
    #[default]
    PerCluster,
    /// One `pgsql/<cls>-<seq>.yml` per instance with only `{cls, ins, ip}` labels (1.4).
    PerInstance,
}

impl TargetLayout {
    /// Parses the CLI spelling: `all`, `cluster`, `instance`.
    pub fn parse(word: &str) -> Option<TargetLayout> {
        match word {
            "all" => Some(TargetLayout::All),
            "cluster" => Some(TargetLayout::PerCluster),
            "instance" => Some(TargetLayout::PerInstance),
            _ => None,
        }
    }
}

/// Exporter ports of a target group, in Pigsty's order.
const TARGET_PORTS: [u16; 4] = [9630, 9100, 9631, 9101];

/// Writes a YAML scalar plainly when it is safe, else as a JSON (= YAML double-quoted) string.
fn scalar(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':'))
        && !v.starts_with(':')
        && !v.ends_with(':')
        && !matches!(
            v,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && !v.starts_with('-')
        && v.parse::<f64>().is_err();
    if plain {
        v.to_string()
    } else {
        serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into())
    }
}

/// A host:port target string; IPv6 addresses get brackets.
fn target(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn group(out: &mut String, cls: &str, r: &Recorded, full_labels: bool) {
    let _ = writeln!(out, "#======> {} [{}] @ {}", r.ins, r.role, r.ip);
    let (c, i, ip) = (scalar(cls), scalar(&r.ins), scalar(&r.ip));
    if full_labels {
        let _ = writeln!(
            out,
            "- labels: {{cls: {c}, ins: {i}, ip: {ip}, role: {}, svc: {}}}",
            scalar(&r.role),
            scalar(&r.svc)
        );
    } else {
        let _ = writeln!(out, "- labels: {{cls: {c}, ins: {i}, ip: {ip}}}");
    }
    let targets: Vec<String> = TARGET_PORTS
        .iter()
        .map(|p| scalar(&target(&r.ip, *p)))
        .collect();
    let _ = writeln!(out, "  targets: [{}]", targets.join(", "));
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl FleetSpec {
    /// The target-file text of one cluster (full labels), or None when no member has a group.
    pub fn cluster_targets_yaml(&self, cluster: &ClusterSpec) -> Option<String> {
        let mut out = String::new();
        for m in &cluster.members {
            if let Some(r) = m.in_targets(&cluster.name) {
                group(&mut out, &cluster.name, &r, true);
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn instance_targets_yaml(cluster: &ClusterSpec, m: &MemberSpec) -> Option<String> {
        let r = m.in_targets(&cluster.name)?;
        let mut out = String::new();
        group(&mut out, &cluster.name, &r, false);
        Some(out)
    }

    /// Writes the Prometheus static target files under `dir`; returns the files written.
    pub fn write_targets(&self, dir: &Path, layout: TargetLayout) -> io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        match layout {
            TargetLayout::All => {
                let text: String = self
                    .clusters
                    .iter()
                    .filter_map(|c| self.cluster_targets_yaml(c))
                    .collect();
                let path = dir.join("all.yml");
                write_atomic(&path, text.as_bytes())?;
                written.push(path);
            }
            TargetLayout::PerCluster => {
                for c in &self.clusters {
                    if let Some(text) = self.cluster_targets_yaml(c) {
                        let path = dir.join(format!("{}.yml", c.name));
                        write_atomic(&path, text.as_bytes())?;
                        written.push(path);
                    }
                }
            }
            TargetLayout::PerInstance => {
                for (c, m) in self.members() {
                    if let Some(text) = Self::instance_targets_yaml(c, m) {
                        let path = dir.join("pgsql").join(format!("{}-{}.yml", c.name, m.seq));
                        write_atomic(&path, text.as_bytes())?;
                        written.push(path);
                    }
                }
            }
        }
        Ok(written)
    }

    /// The Pigsty inventory (`pigsty.yml`) as the fleet declares it.
    pub fn inventory_yaml(&self) -> String {
        let mut out =
            String::from("---\n# Pigsty inventory rendered by roster sim\nall:\n  children:\n");
        for n in &self.infra {
            let _ = writeln!(out, "    {}:", scalar(&n.node));
            let _ = writeln!(out, "      hosts:");
            let _ = writeln!(out, "        {}: {{ meta_node: true }}", scalar(&n.ip));
            let _ = writeln!(out, "      vars: {{ }}");
        }
        for c in &self.clusters {
            let hosts: Vec<(&MemberSpec, Recorded)> = c
                .members
                .iter()
                .filter_map(|m| m.in_inventory(&c.name).map(|r| (m, r)))
                .collect();
            if hosts.is_empty() {
                continue;
            }
            let _ = writeln!(out, "    {}:", scalar(&c.name));
            let _ = writeln!(out, "      hosts:");
            for (m, r) in hosts {
                let mut vars = format!("pg_seq: {}, pg_role: {}", m.seq, scalar(&r.role));
                if m.inventory.ins.is_some() {
                    let _ = write!(vars, ", pg_instance: {}", scalar(&r.ins));
                }
                if m.inventory.svc.is_some() {
                    let _ = write!(vars, ", pg_service: {}", scalar(&r.svc));
                }
                let _ = writeln!(out, "        {}: {{ {vars} }}", scalar(&r.ip));
            }
            let _ = writeln!(out, "      vars: {{ pg_cluster: {} }}", scalar(&c.name));
        }
        let _ = writeln!(out, "  vars:");
        let _ = writeln!(
            out,
            "    version: {}",
            scalar(&format!("v{}", self.release))
        );
        let _ = writeln!(out, "    dcs_type: consul");
        let _ = writeln!(out, "    dcs_name: {}", scalar(&self.datacenter));
        let _ = writeln!(out, "    pg_version: 13");
        let _ = writeln!(out, "    prometheus_sd_method: static");
        out
    }

    /// Writes the inventory atomically to `path`.
    pub fn write_inventory(&self, path: &Path) -> io::Result<()> {
        write_atomic(path, self.inventory_yaml().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Group {
        labels: BTreeMap<String, String>,
        targets: Vec<String>,
    }

    #[derive(Deserialize)]
    struct Inventory {
        all: All,
    }
    #[derive(Deserialize)]
    struct All {
        children: BTreeMap<String, Child>,
        vars: BTreeMap<String, serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Child {
        hosts: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
        #[serde(default)]
        vars: BTreeMap<String, serde_json::Value>,
    }

    #[test]
    fn demo_cluster_file_is_pigsty_shaped_and_reparses() {
        let spec = FleetSpec::demo();
        let test = spec.clusters.iter().find(|c| c.name == "pg-test").unwrap();
        let text = spec.cluster_targets_yaml(test).unwrap();
        let first: Vec<&str> = text.lines().take(3).collect();
        assert_eq!(first[0], "#======> pg-test-1 [primary] @ 127.10.10.11");
        assert_eq!(
            first[1],
            "- labels: {cls: pg-test, ins: pg-test-1, ip: 127.10.10.11, role: primary, svc: pg-test-primary}"
        );
        assert_eq!(
            first[2],
            "  targets: [127.10.10.11:9630, 127.10.10.11:9100, 127.10.10.11:9631, 127.10.10.11:9101]"
        );
        let groups: Vec<Group> = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].labels["role"], "replica");
        assert_eq!(groups[1].targets[0], "127.10.10.12:9630");
    }

    #[test]
    fn every_layout_writes_reparsable_files() {
        let spec = FleetSpec::demo();
        let dir = tempfile::tempdir().unwrap();
        let all = spec.write_targets(dir.path(), TargetLayout::All).unwrap();
        assert_eq!(all.len(), 1);
        let groups: Vec<Group> =
            serde_saphyr::from_str(&std::fs::read_to_string(&all[0]).unwrap()).unwrap();
        // Everything except pg-new (2) and the decommissioned pg-orders-5.
        assert_eq!(groups.len(), spec.instance_count() - 3);
        assert!(groups.iter().any(|g| g.labels["ins"] == "pg-stats-40"));
        assert!(
            groups
                .iter()
                .any(|g| g.labels["ins"] == "pg-stats-7" && g.labels["ip"] == "127.10.10.67")
        );

        let per = spec
            .write_targets(dir.path(), TargetLayout::PerCluster)
            .unwrap();
        assert_eq!(per.len(), spec.clusters.len() - 1);
        assert!(!dir.path().join("pg-new.yml").exists());

        let inst = spec
            .write_targets(dir.path(), TargetLayout::PerInstance)
            .unwrap();
        assert_eq!(inst.len(), groups.len());
        let one: Vec<Group> = serde_saphyr::from_str(
            &std::fs::read_to_string(dir.path().join("pgsql/pg-test-2.yml")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            one[0].labels.keys().collect::<Vec<_>>(),
            ["cls", "ins", "ip"]
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn inventory_reparses_with_declared_roles() {
        let spec = FleetSpec::demo();
        let inv: Inventory = serde_saphyr::from_str(&spec.inventory_yaml()).unwrap();
        let test = &inv.all.children["pg-test"];
        assert_eq!(test.vars["pg_cluster"], "pg-test");
        assert_eq!(test.hosts["127.10.10.11"]["pg_role"], "primary");
        assert_eq!(test.hosts["127.10.10.12"]["pg_seq"], 2);
        assert_eq!(
            inv.all.children["pg-stats"].hosts["127.10.10.56"]["pg_role"],
            "standby_leader"
        );
        assert!(
            inv.all.children["pg-stats"]
                .hosts
                .contains_key("127.10.10.67")
        );
        assert!(
            !inv.all.children["pg-orders"]
                .hosts
                .contains_key("127.10.10.35")
        );
        assert_eq!(inv.all.children["pg-new"].hosts.len(), 2);
        assert!(!inv.all.children["meta"].vars.contains_key("pg_cluster"));
        assert_eq!(inv.all.vars["dcs_name"], "dc1");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pigsty.yml");
        spec.write_inventory(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            spec.inventory_yaml()
        );
    }

    #[test]
    fn odd_values_are_quoted() {
        assert_eq!(scalar("pg-test"), "pg-test");
        assert_eq!(scalar("a b"), "\"a b\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("13"), "\"13\"");
        assert_eq!(scalar("::1"), "\"::1\"");
    }
}

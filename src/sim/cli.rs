//! `roster sim`: render a fleet into files and serve its Consul catalog (and, when asked,
//! its members' Patroni REST API) until Ctrl-C.

use super::catalog::Catalog;
use super::generate::GenerateOptions;
use super::patroni::PatroniSim;
use super::render::TargetLayout;
use super::server::{RemoteDatacenter, SimOptions, SimServer};
use super::spec::{FleetSpec, Release};
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Command-line arguments of `roster sim`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct SimArgs {
    /// Address to serve the Consul HTTP API on; with a loopback address every node's
    /// agent answers on its own 127.x address at the same port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8500")]
    pub listen: SocketAddr,
    /// Fleet spec (YAML) to serve; default: the bundled demo fleet with planted drift.
    #[arg(long, value_name = "FILE", conflicts_with = "generate")]
    pub fleet: Option<PathBuf>,
    /// Generate a fleet of N clusters instead of reading a spec.
    #[arg(long, value_name = "N")]
    pub generate: Option<usize>,
    /// With --generate: plant a drift in every Nth cluster.
    #[arg(long, value_name = "N", requires = "generate")]
    pub drift_every: Option<usize>,
    /// With --generate: members per cluster.
    #[arg(long, value_name = "N", default_value_t = 4, requires = "generate")]
    pub members: usize,
    /// Pigsty service-set style to render (overrides the spec's).
    #[arg(long, value_name = "RELEASE", value_parser = ["0.7", "1.0", "1.5"])]
    pub release: Option<String>,
    /// File holding the ACL master token; enables ACLs with default policy deny.
    #[arg(long, value_name = "FILE")]
    pub acl_token_file: Option<PathBuf>,
    /// Write Prometheus static target files into DIR (with other datacenters in the fleet,
    /// each datacenter's into DIR/<dc>/).
    #[arg(long, value_name = "DIR")]
    pub write_targets: Option<PathBuf>,
    /// Layout of the target files.
    #[arg(long, value_name = "LAYOUT", default_value = "cluster", value_parser = ["all", "cluster", "instance"])]
    pub target_layout: String,
    /// Write the Pigsty inventory to FILE (another datacenter's beside it, as
    /// <stem>-<dc>.<ext>).
    #[arg(long, value_name = "FILE")]
    pub write_inventory: Option<PathBuf>,
    /// Also serve Patroni's REST API (the members' real roles) on each member's loopback
    /// address, at PORT [default when given without PORT: 8008; 0: any free port]; off
    /// unless given.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "8008")]
    pub patroni: Option<u16>,
}

/// The fleet the arguments describe.
pub fn load_spec(args: &SimArgs) -> anyhow::Result<FleetSpec> {
    let mut spec = match (&args.fleet, args.generate) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading fleet spec {}", path.display()))?;
            FleetSpec::from_yaml(&text).with_context(|| format!("in {}", path.display()))?
        }
        (None, Some(n)) => FleetSpec::generate(
            n,
            &GenerateOptions {
                members: args.members,
                drift_every: args.drift_every,
                seed: 0,
            },
        ),
        (None, None) => FleetSpec::demo(),
    };
    if let Some(r) = &args.release {
        spec.release = Release::parse(r).with_context(|| format!("unknown release {r}"))?;
    }
    Ok(spec)
}

fn read_token(path: &PathBuf) -> anyhow::Result<String> {
    let raw = std::fs::read_to_string(path)
        .with_context(|| format!("reading ACL token file {}", path.display()))?;
    let token = raw.trim().to_string();
    if token.is_empty() {
        bail!("ACL token file {} is empty", path.display());
    }
    Ok(token)
}

/// Where another datacenter's inventory is written: `pigsty.yml` -> `pigsty-dc2.yml`.
pub fn inventory_of(path: &std::path::Path, dc: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{dc}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{dc}"),
    };
    path.with_file_name(name)
}

/// Writes the target files and inventories asked for; says what it wrote.
fn write_files(
    args: &SimArgs,
    spec: &FleetSpec,
    layout: TargetLayout,
) -> anyhow::Result<Vec<String>> {
    let mut wrote = Vec::new();
    let remotes = !spec.datacenters.is_empty();
    // An unreachable datacenter has nothing anyone could have rendered files from.
    let every: Vec<FleetSpec> = std::iter::once(spec.clone())
        .chain(
            spec.datacenters
                .iter()
                .filter(|dc| !dc.unreachable)
                .map(|dc| spec.remote(dc)),
        )
        .collect();
    for one in &every {
        if let Some(dir) = &args.write_targets {
            let dir = if remotes {
                dir.join(&one.datacenter)
            } else {
                dir.clone()
            };
            let files = one
                .write_targets(&dir, layout)
                .with_context(|| format!("writing target files into {}", dir.display()))?;
            wrote.push(format!("{} target files in {}", files.len(), dir.display()));
        }
        if let Some(path) = &args.write_inventory {
            let path = if one.datacenter == spec.datacenter {
                path.clone()
            } else {
                inventory_of(path, &one.datacenter)
            };
            one.write_inventory(&path)
                .with_context(|| format!("writing inventory {}", path.display()))?;
            wrote.push(format!("inventory {}", path.display()));
        }
    }
    Ok(wrote)
}

/// Writes the requested files, serves the catalog and blocks until Ctrl-C.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let spec = load_spec(&args)?;
    let layout = TargetLayout::parse(&args.target_layout)
        .with_context(|| format!("unknown target layout {}", args.target_layout))?;
    let acl_token = args.acl_token_file.as_ref().map(read_token).transpose()?;
    let catalog = Catalog::from_spec(&spec);
    let acl = acl_token.is_some();
    let opts = SimOptions {
        acl_token,
        remote_datacenters: RemoteDatacenter::from_spec(&spec),
        ..SimOptions::default()
    };
    // Listen first: an address in use must fail before any file is written, so that a
    // second `roster sim` cannot overwrite the files the running one serves.
    let server = SimServer::start(args.listen, catalog, opts)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (`--listen ADDR` picks another); no file written",
                args.listen
            )
        })?;
    let patroni = match args.patroni {
        Some(port) => match PatroniSim::start(&spec, port).await {
            Ok(p) => Some(p),
            Err(e) => {
                server.shutdown().await;
                return Err(e).with_context(|| {
                    format!(
                        "serving Patroni's REST API on port {port} (`--patroni PORT` picks another); no file written"
                    )
                });
            }
        },
        None => None,
    };
    let wrote = match write_files(&args, &spec, layout) {
        Ok(w) => w,
        Err(e) => {
            if let Some(p) = patroni {
                p.shutdown().await;
            }
            server.shutdown().await;
            return Err(e);
        }
    };
    let cat = server.catalog();
    let mut line = format!(
        "roster sim: Consul API at {} (dc {}, release {}, {} clusters, {} nodes, {} service instances{})",
        server.url(),
        spec.datacenter,
        spec.release,
        spec.clusters.len(),
        cat.node_names().len(),
        cat.instance_count(),
        if acl { ", ACL default deny" } else { "" }
    );
    for dc in &spec.datacenters {
        let state = if dc.unreachable {
            "listed, unreachable".to_string()
        } else {
            format!("{} clusters", dc.clusters.len())
        };
        line.push_str(&format!("; dc {} ({state}) by ?dc=", dc.name));
    }
    if let Some(p) = &patroni {
        line.push_str(&format!(
            "; Patroni API on port {} ({} members, each on its own address)",
            p.port(),
            p.member_count()
        ));
    }
    if !wrote.is_empty() {
        line.push_str("; wrote ");
        line.push_str(&wrote.join(", "));
    }
    println!("{line}");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    if let Some(p) = patroni {
        p.shutdown().await;
    }
    server.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn parse(args: &[&str]) -> Result<SimArgs, clap::Error> {
        Wrap::try_parse_from(std::iter::once("sim").chain(args.iter().copied())).map(|w| w.sim)
    }

    #[test]
    fn defaults_and_generate() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.listen, "127.0.0.1:8500".parse().unwrap());
        assert_eq!(a.target_layout, "cluster");
        assert_eq!(load_spec(&a).unwrap(), FleetSpec::demo());
        let g = parse(&["--generate", "5", "--members", "2", "--release", "1.5"]).unwrap();
        let spec = load_spec(&g).unwrap();
        assert_eq!(spec.instance_count(), 10);
        assert_eq!(spec.release, Release::V1_5);
        assert!(parse(&["--generate", "5", "--fleet", "x.yml"]).is_err());
        assert!(parse(&["--drift-every", "2"]).is_err());
        assert!(parse(&["--target-layout", "flat"]).is_err());
        assert_eq!(a.patroni, None, "Patroni is opt-in");
        let p = parse(&["--patroni"]).unwrap();
        assert_eq!(p.patroni, Some(crate::sim::patroni::DEFAULT_PORT));
        assert_eq!(parse(&["--patroni", "9008"]).unwrap().patroni, Some(9008));
        assert_eq!(parse(&["--patroni=0"]).unwrap().patroni, Some(0));
    }

    #[test]
    fn missing_fleet_file_names_the_path() {
        let a = parse(&["--fleet", "/nonexistent/fleet.yml"]).unwrap();
        let err = format!("{:#}", load_spec(&a).unwrap_err());
        assert!(err.contains("/nonexistent/fleet.yml"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("token");
        std::fs::write(&empty, "  \n").unwrap();
        assert!(read_token(&empty).is_err());
        std::fs::write(&empty, " secret\n").unwrap();
        assert_eq!(read_token(&empty).unwrap(), "secret");
        assert_eq!(
            inventory_of(std::path::Path::new("/x/pigsty.yml"), "dc2"),
            PathBuf::from("/x/pigsty-dc2.yml")
        );
    }
}

//! The built-in demo: the simulator with the demo fleet, its target files and inventory.

use crate::config::SourceArgs;
use crate::sim::{Catalog, FleetSpec, SimOptions, SimServer, TargetLayout};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A running demo: a simulated Consul plus files in a temporary directory (removed on drop).
pub struct Demo {
    server: SimServer,
    // Held only so the files live exactly as long as the demo.
    _dir: tempfile::TempDir,
    targets: PathBuf,
    inventory: PathBuf,
}

impl Demo {
    /// Starts the simulator on a free loopback port and writes the demo files.
    pub async fn start() -> anyhow::Result<Demo> {
        Demo::start_with(FleetSpec::demo()).await
    }

    /// Starts a demo of any fleet spec.
    pub async fn start_with(spec: FleetSpec) -> anyhow::Result<Demo> {
        Demo::start_with_options(spec, SimOptions::default()).await
    }

    /// Starts a demo of any fleet spec with simulator options (an ACL token, say).
    pub async fn start_with_options(spec: FleetSpec, options: SimOptions) -> anyhow::Result<Demo> {
        let dir = tempfile::Builder::new()
            .prefix("roster-demo-")
            .tempdir()
            .context("creating the demo directory")?;
        let targets = dir.path().join("targets");
        std::fs::create_dir_all(&targets).context("creating the demo target directory")?;
        spec.write_targets(&targets, TargetLayout::PerCluster)
            .context("writing the demo target files")?;
        let inventory = dir.path().join("pigsty.yml");
        spec.write_inventory(&inventory)
            .context("writing the demo inventory")?;
        let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server = SimServer::start(listen, Catalog::from_spec(&spec), options)
            .await
            .context("starting the Consul simulator")?;
        Ok(Demo {
            server,
            _dir: dir,
            targets,
            inventory,
        })
    }

    /// Source flags that point at the demo's Consul, target directory and inventory.
    pub fn source_args(&self) -> SourceArgs {
        SourceArgs {
            consul: Some(self.server.url()),
            targets: vec![self.targets.display().to_string()],
            inventory: Some(self.inventory.clone()),
            ..SourceArgs::default()
        }
    }

    /// The directory holding the target files.
    pub fn targets_dir(&self) -> &std::path::Path {
        &self.targets
    }

    /// The inventory file.
    pub fn inventory_path(&self) -> &std::path::Path {
        &self.inventory
    }

    /// The simulator, for tests that change the fleet while it runs.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// Stops the simulator; the directory goes with the value.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

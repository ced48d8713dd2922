//! The built-in demo: the simulator with the demo fleet, its target files and inventory,
//! and the members' Patroni REST API as the live witness.

use crate::config::SourceArgs;
use crate::sim::{
    Catalog, FleetSpec, PatroniSim, RemoteDatacenter, SimOptions, SimServer, TargetLayout,
};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A running demo: a simulated Consul and Patroni plus files in a temporary directory
/// (removed on drop).
pub struct Demo {
    server: SimServer,
    patroni: PatroniSim,
    // Held only so the files live exactly as long as the demo.
    _dir: tempfile::TempDir,
    targets: PathBuf,
    inventory: PathBuf,
    /// Another datacenter's target directory and inventory, by its name.
    remote_files: std::collections::BTreeMap<String, (PathBuf, PathBuf)>,
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
    ///
    /// The spec's other datacenters are served too (unless the options name their own),
    /// each with its own target directory and inventory.
    pub async fn start_with_options(
        spec: FleetSpec,
        mut options: SimOptions,
    ) -> anyhow::Result<Demo> {
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
        let mut remote_files = std::collections::BTreeMap::new();
        for dc in spec.datacenters.iter().filter(|dc| !dc.unreachable) {
            let remote = spec.remote(dc);
            let targets = dir.path().join(format!("targets-{}", dc.name));
            remote
                .write_targets(&targets, TargetLayout::PerCluster)
                .with_context(|| format!("writing the target files of {}", dc.name))?;
            let inventory = dir.path().join(format!("pigsty-{}.yml", dc.name));
            remote
                .write_inventory(&inventory)
                .with_context(|| format!("writing the inventory of {}", dc.name))?;
            remote_files.insert(dc.name.clone(), (targets, inventory));
        }
        if options.remote_datacenters.is_empty() {
            options.remote_datacenters = RemoteDatacenter::from_spec(&spec);
        }
        let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server = SimServer::start(listen, Catalog::from_spec(&spec), options)
            .await
            .context("starting the Consul simulator")?;
        // Any free port rather than 8008: a real Patroni or another demo on this machine
        // may hold 8008 (and a wildcard listener there would keep a real Patroni from
        // starting); the live source is told the port.
        let patroni = match PatroniSim::start(&spec, 0).await {
            Ok(p) => p,
            Err(e) => {
                server.shutdown().await;
                return Err(e).context("starting the Patroni simulator");
            }
        };
        Ok(Demo {
            server,
            patroni,
            _dir: dir,
            targets,
            inventory,
            remote_files,
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

    /// [`Demo::source_args`] with the live source on, asking the simulated Patroni.
    pub fn live_source_args(&self) -> SourceArgs {
        SourceArgs {
            live: true,
            patroni_port: Some(self.patroni.port()),
            // The demo's addresses are 127.10.10.x:5432, and a PostgreSQL listening on
            // 0.0.0.0:5432 on this machine would answer for all of them with its own role:
            // only the simulated Patroni may speak for the demo's databases.
            live_patroni_only: true,
            ..self.source_args()
        }
    }

    /// The source flags of `roster demo`: the demo's own places only (the live source asks
    /// only its simulated Patroni, unless `live` is false), and the config file given, read
    /// as the plain UI reads it (its theme and `[keys]` above all).
    pub fn command_source_args(&self, live: bool, config: Option<PathBuf>) -> SourceArgs {
        let places = if live {
            self.live_source_args()
        } else {
            self.source_args()
        };
        SourceArgs { config, ..places }
    }

    /// The directory holding the target files.
    pub fn targets_dir(&self) -> &std::path::Path {
        &self.targets
    }

    /// The inventory file.
    pub fn inventory_path(&self) -> &std::path::Path {
        &self.inventory
    }

    /// Another datacenter's target directory and inventory, when the spec has it.
    pub fn datacenter_files(&self, dc: &str) -> Option<(&std::path::Path, &std::path::Path)> {
        self.remote_files
            .get(dc)
            .map(|(t, i)| (t.as_path(), i.as_path()))
    }

    /// The simulator, for tests that change the fleet while it runs.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// The simulated Patroni REST API of the demo's members.
    pub fn patroni(&self) -> &PatroniSim {
        &self.patroni
    }

    /// Stops the simulators; the directory goes with the value.
    pub async fn stop(self) {
        self.patroni.shutdown().await;
        self.server.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn live_args_ask_only_the_demos_patroni() {
        let demo = Demo::start().await.expect("demo");
        let plain = crate::config::resolve(&demo.source_args(), &|_| None).expect("settings");
        assert!(plain.live.is_none(), "the plain sources stay without live");
        let s = crate::config::resolve(&demo.live_source_args(), &|_| None).expect("settings");
        let live = s.live.expect("live is on");
        assert!(live.pg.is_none(), "never a PostgreSQL that may listen here");
        assert_eq!(live.patroni.map(|p| p.port), Some(demo.patroni().port()));
        demo.stop().await;
    }

    #[tokio::test]
    async fn the_config_file_given_reaches_the_keymap_and_theme() {
        use crate::tui::keymap::{Bind, Keymap};
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "theme = \"light\"\n[keys]\nquit = \"x\"\n").expect("write");
        let demo = Demo::start().await.expect("demo");
        for live in [true, false] {
            let args = demo.command_source_args(live, Some(path.clone()));
            assert_eq!(
                args.consul,
                Some(demo.server().url()),
                "the demo's own Consul"
            );
            let s = crate::config::resolve(&args, &|_| None).expect("settings");
            assert_eq!(s.theme.as_deref(), Some("light"));
            assert_eq!(s.live.is_some(), live);
            let keys = Keymap::from_config(s.keys.as_ref()).expect("keymap");
            let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(keys.bind_for(key('x')), Some(Bind::Quit));
            assert_eq!(keys.bind_for(key('q')), None);
        }
        demo.stop().await;
    }
}

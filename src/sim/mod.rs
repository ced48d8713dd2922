//! A Consul-compatible catalog simulator and a Pigsty-shaped fleet generator.
//!
//! One [`FleetSpec`] (the demo, a YAML file or a generated fleet) renders into all three
//! places roster reads: a Consul catalog served over HTTP by [`SimServer`], Prometheus
//! static target files and a Pigsty inventory, with drift planted per place; the members'
//! real roles are served by a simulated Patroni REST API ([`PatroniSim`]).

pub mod catalog;
pub mod cli;
mod decode;
pub mod faults;
pub mod generate;
mod handlers;
mod node_reads;
pub mod patroni;
pub mod pigsty;
pub mod query;
pub mod records;
pub mod render;
pub mod request_log;
pub mod server;
pub mod spec;
mod wire;

pub use catalog::{
    Catalog, CatalogError, CheckDef, CheckKind, CheckStatus, NodeDef, ServiceDef, Weights,
};
pub use cli::{SimArgs, run};
pub use faults::Faults;
pub use generate::GenerateOptions;
pub use patroni::PatroniSim;
pub use render::TargetLayout;
pub use request_log::LoggedRequest;
pub use server::{RemoteDatacenter, SimOptions, SimServer};
pub use spec::{DatacenterSpec, FleetSpec, Release, SpecError};

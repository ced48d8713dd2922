//! Repairing drift: plans and the writers that apply them to each place identity lives.

pub mod apply;
pub mod audit;
pub mod cli;
pub mod cluster;
pub mod command;
pub mod consul;
pub mod error;
pub mod plan;
pub mod plan_targets;
pub mod simulate;
pub mod targets;
pub mod undo;

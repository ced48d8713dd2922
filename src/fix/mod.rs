//! Repairing drift: plans and the writers that apply them to each place identity lives.

pub mod command;
pub mod consul;
pub mod error;
pub mod targets;
pub mod apply;
pub mod audit;
pub mod cli;
pub mod plan;

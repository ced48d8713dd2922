//! Identity sources: each turns one place into observations and never compares.

pub mod inventory;
pub mod targets;
pub mod consul;
pub mod yaml;

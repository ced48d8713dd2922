//! Identity sources: each turns one place into observations and never compares.

pub mod consul;
pub mod consul_compact;
pub mod datacenters;
pub mod file_error;
pub mod file_text;
pub mod inventory;
pub mod live;
pub mod patroni;
pub mod pg_tls;
pub mod pgpass;
pub mod postgres;
pub mod probe;
pub mod targets;

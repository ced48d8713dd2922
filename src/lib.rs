//! roster: reads PostgreSQL instance identity from every place a Pigsty-style fleet
//! publishes it, merges it into one fleet, and reports where the places disagree.

pub mod check;
pub mod config;
pub mod consul;
pub mod demo;
pub mod drift;
pub mod encoding;
pub mod estate;
pub mod fix;
pub mod fleet;
pub mod gather;
pub mod go_syntax;
pub mod identity;
pub mod intern;
pub mod logging;
pub mod observation;
pub mod report;
pub mod serve;
pub mod sim;
pub mod source;
pub mod text;
pub mod tls_verify;
pub mod tui;
pub mod verdict;
pub mod watch;

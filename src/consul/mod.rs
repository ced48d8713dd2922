//! Talking to Consul's HTTP API: addresses, TLS, secrets, the client and its wire types.

pub mod address;
pub mod client;
pub mod error;
pub mod secret;
pub mod stream;
pub mod tls;
pub mod wire;

pub use address::Endpoint;
pub use client::{Blocking, ConsulClient, ConsulConfig, QueryMeta};
pub use error::ConsulError;
pub use secret::Secret;
pub use tls::TlsOptions;

//! A Consul-compatible catalog simulator and a Pigsty-shaped fleet generator.

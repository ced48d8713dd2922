//! Prometheus static target files (file_sd) as an identity source.

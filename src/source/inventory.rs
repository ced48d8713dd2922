//! The Pigsty inventory (Ansible YAML) as the declared-identity source.

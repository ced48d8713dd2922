//! Asking PostgreSQL itself: `pg_is_in_recovery()`, timeline, WAL positions, standbys.

use super::live::{LiveProbe, LiveTarget, PgConfig, ProbeError};

/// Connects to one instance and reads its live role and replication state.
pub async fn probe_postgres(_t: &LiveTarget, _cfg: &PgConfig) -> Result<LiveProbe, ProbeError> {
    Err(ProbeError::Other("the PostgreSQL probe is not built yet".into()))
}

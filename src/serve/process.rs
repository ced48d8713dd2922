//! roster's own process metrics, read from `/proc/self` the way Prometheus' client
//! libraries read them, so the usual `process_*` dashboards work.

use std::path::Path;

/// Clock ticks per second of `/proc/<pid>/stat` times: Linux reports them in `USER_HZ`,
/// which is 100 on every architecture (Prometheus' procfs assumes the same).
const USER_HZ: f64 = 100.0;

/// One reading of the process' resources; a value that could not be read is `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: Option<u64>,
    /// Start time, in seconds since the Unix epoch.
    pub start_time: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
}

impl ProcessStats {
    /// Reads the current process from `/proc`.
    pub fn read() -> ProcessStats {
        ProcessStats::read_from(Path::new("/proc"), Path::new("/proc/self"))
    }

    /// Reads from a proc tree (`proc` for `stat`'s boot time, `me` for the process).
    pub fn read_from(proc: &Path, me: &Path) -> ProcessStats {
        let text = |p: &Path| std::fs::read_to_string(p).ok();
        let stat = text(&me.join("stat"));
        let fields = stat.as_deref().and_then(stat_fields);
        let field = |n: usize| -> Option<f64> { fields.as_ref()?.get(n)?.parse().ok() };
        // Fields are numbered as in proc(5); the list starts at field 3 (state).
        let at = |n: usize| field(n - 3);
        let boot = text(&proc.join("stat")).and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        let status = text(&me.join("status"));
        let kib = |key: &str| -> Option<u64> {
            let line = status.as_deref()?.lines().find(|l| l.starts_with(key))?;
            let v: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
            Some(v * 1024)
        };
        let open_fds = std::fs::read_dir(me.join("fd"))
            .ok()
            .map(|d| d.count() as u64);
        let max_fds = text(&me.join("limits")).and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l["Max open files".len()..].split_whitespace().next())
                .and_then(|v| v.parse().ok())
        });
        ProcessStats {
            cpu_seconds: at(14).zip(at(15)).map(|(u, s)| (u + s) / USER_HZ),
            resident_bytes: kib("VmRSS:"),
            virtual_bytes: kib("VmSize:"),
            start_time: boot.zip(at(22)).map(|(b, t)| b + t / USER_HZ),
            open_fds,
            max_fds,
        }
    }
}

/// The fields of `/proc/<pid>/stat` after the command name, which is in parentheses and
/// may itself hold spaces and parentheses (hence the last `)`).
fn stat_fields(stat: &str) -> Option<Vec<String>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_proc_tree() {
        let dir = tempfile::tempdir().unwrap();
        let me = dir.path().join("self");
        std::fs::create_dir_all(me.join("fd")).unwrap();
        for n in 0..3 {
            std::fs::write(me.join("fd").join(n.to_string()), "").unwrap();
        }
        std::fs::write(dir.path().join("stat"), "cpu 1 2 3\nbtime 1700000000\n").unwrap();
        // utime 250, stime 50 ticks; starttime 1234 ticks after boot.
        std::fs::write(
            me.join("stat"),
            "42 (ros ter) (x) S 1 42 42 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 4 0 1234 1000 20 \n",
        )
        .unwrap();
        std::fs::write(
            me.join("status"),
            "Name:\troster\nVmSize:\t  2048 kB\nVmRSS:\t  1024 kB\n",
        )
        .unwrap();
        std::fs::write(
            me.join("limits"),
            "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n",
        )
        .unwrap();
        let s = ProcessStats::read_from(dir.path(), &me);
        assert_eq!(s.cpu_seconds, Some(3.0));
        assert!((s.start_time.unwrap() - 1_700_000_012.34).abs() < 1e-3);
        assert_eq!(s.resident_bytes, Some(1024 * 1024));
        assert_eq!(s.virtual_bytes, Some(2048 * 1024));
        assert_eq!(s.open_fds, Some(3));
        assert_eq!(s.max_fds, Some(1024));
    }

    #[test]
    fn this_process_is_readable() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes.is_some_and(|b| b > 0), "{s:?}");
        assert!(s.cpu_seconds.is_some(), "{s:?}");
        assert!(s.start_time.is_some_and(|t| t > 1.0e9), "{s:?}");
    }

    #[test]
    fn a_missing_tree_reads_as_unknown() {
        let s = ProcessStats::read_from(Path::new("/nonexistent"), Path::new("/nonexistent/self"));
        assert_eq!(s, ProcessStats::default());
    }
}

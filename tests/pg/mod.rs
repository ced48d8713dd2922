//! A real PostgreSQL 15 for integration tests: a primary or a streaming replica, each in
//! its own temporary directory and on its own loopback address at port 5432, the way
//! Pigsty nodes each have an address. Run as the `postgres` user when the tests run as root.
//!
//! Blocking by design (it shells out to `pg_ctl`, `psql`), so it also serves `Drop`.

#![allow(dead_code)]

use roster::source::probe::{LiveTarget, PgConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where Debian installs the PostgreSQL 15 binaries.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The monitoring role every instance has (member of `pg_monitor`, trust auth).
pub const MONITOR_USER: &str = "dbuser_monitor";
/// A role that must authenticate with a password (scram-sha-256), for the Auth tests.
pub const PW_USER: &str = "roster_pw";
/// `PW_USER`'s password.
pub const PW_PASSWORD: &str = "Tr0ub4dor-roster-pw";
/// Every instance listens on this port, on its own address.
pub const PORT: u16 = 5432;

/// How long any startup, promotion or catch-up may take before the harness gives up.
const DEADLINE: Duration = Duration::from_secs(90);

/// One running PostgreSQL instance (primary or replica) and its temporary directory.
pub struct Cluster {
    ip: String,
    dir: tempfile::TempDir,
    running: bool,
    proxy: Option<Proxy>,
}

/// True when the binaries are installed; otherwise says SKIPPED (or panics when
/// `ROSTER_REQUIRE_EXTERNAL=1`, so CI cannot pass by skipping).
pub fn available() -> bool {
    let ok = ["initdb", "pg_ctl", "pg_basebackup", "psql"]
        .iter()
        .all(|b| Path::new(BIN).join(b).is_file());
    if !ok {
        if std::env::var("ROSTER_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
            panic!("PostgreSQL 15 binaries not found in {BIN} and ROSTER_REQUIRE_EXTERNAL=1");
        }
        println!("SKIPPED: PostgreSQL 15 binaries not found");
    }
    ok
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    /// Starts a primary listening on `ip:5432`; `None` (after saying SKIPPED) without binaries.
    pub fn primary(ip: &str) -> Option<Cluster> {
        if !available() {
            return None;
        }
        let c = Cluster::new_dir(ip);
        c.pg(
            "initdb",
            &[
                "-D",
                &c.data_s(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        std::fs::write(
            c.data().join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 host all {PW_USER} 127.0.0.0/8 scram-sha-256\n\
                 host all all 127.0.0.0/8 trust\n\
                 host replication all 127.0.0.0/8 trust\n"
            ),
        )
        .expect("write pg_hba.conf");
        c.append_conf();
        let mut c = c;
        c.start();
        c.sql(&format!(
            "CREATE ROLE {MONITOR_USER} LOGIN; GRANT pg_monitor TO {MONITOR_USER}; \
             SET password_encryption = 'scram-sha-256'; \
             CREATE ROLE {PW_USER} LOGIN PASSWORD '{PW_PASSWORD}'; GRANT pg_monitor TO {PW_USER};"
        ));
        Some(c)
    }

    /// Starts a streaming replica of `primary` on `ip:5432` (`pg_basebackup -R`), and
    /// returns once the primary lists it as streaming from `ip`.
    pub fn replica_of(primary: &Cluster, ip: &str) -> Option<Cluster> {
        Cluster::replica_via(primary, ip, ip, None)
    }

    /// Like [`Cluster::replica_of`], but its WAL receiver connects from `from` (a second
    /// interface, a NAT), so `primary` sees `from` as the client address; with `name`, the
    /// receiver's `application_name` (`cluster_name`) is set, as Patroni does.
    /// `primary` may itself be a replica: the new one then cascades from it.
    pub fn replica_via(
        primary: &Cluster,
        ip: &str,
        from: &str,
        name: Option<&str>,
    ) -> Option<Cluster> {
        if !available() {
            return None;
        }
        let mut c = Cluster::new_dir(ip);
        // Loopback connections all come from 127.0.0.1; the replica connects through a
        // relay bound to `from` so pg_stat_replication shows that address, as it would
        // on real nodes.
        let proxy = Proxy::start(from, &primary.ip);
        let port = proxy.port.to_string();
        c.proxy = Some(proxy);
        c.pg(
            "pg_basebackup",
            &[
                "-h",
                from,
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &c.data_s(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        c.append_conf();
        if let Some(name) = name {
            c.append(&format!("cluster_name = '{name}'\n"));
        }
        c.start();
        let q = format!(
            "SELECT count(*) FROM pg_stat_replication WHERE client_addr = '{from}' AND state = 'streaming'"
        );
        wait_until(&format!("{ip} streaming from {}", primary.ip), || {
            primary.try_sql(&q).is_ok_and(|n| n == "1")
        });
        Some(c)
    }

    /// Turns TLS on with this certificate and key (PEM) and restarts the server.
    pub fn enable_tls(&mut self, cert_pem: &str, key_pem: &str) {
        let (cert, key) = (
            self.data().join("server.crt"),
            self.data().join("server.key"),
        );
        std::fs::write(&cert, cert_pem).expect("write server.crt");
        std::fs::write(&key, key_pem).expect("write server.key");
        {
            use std::os::unix::fs::PermissionsExt;
            // PostgreSQL refuses a key others can read.
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                .expect("chmod server.key");
        }
        if is_root() {
            let st = Command::new("chown")
                .arg("postgres:postgres")
                .args([&cert, &key])
                .status()
                .expect("chown runs");
            assert!(st.success(), "chown the certificate files to postgres");
        }
        self.append("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        self.stop();
        self.start();
    }

    fn append(&self, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .expect("open postgresql.conf");
        f.write_all(text.as_bytes())
            .expect("append postgresql.conf");
    }

    fn new_dir(ip: &str) -> Cluster {
        ip.parse::<IpAddr>().expect("a literal IP address");
        let dir = tempfile::Builder::new()
            .prefix("roster-pg-")
            .tempdir_in("/tmp")
            .expect("temporary directory");
        std::fs::create_dir(dir.path().join("sock")).expect("socket directory");
        if is_root() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(st.success(), "chown the temp dir to postgres");
        }
        Cluster {
            ip: ip.to_string(),
            dir,
            running: false,
            proxy: None,
        }
    }

    fn append_conf(&self) {
        use std::io::Write;
        // full_page_writes stays on: a standby refuses to serve a base backup (for a
        // cascading replica) of WAL written without it.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .expect("open postgresql.conf");
        write!(
            f,
            "\n# roster test harness\n\
             listen_addresses = '{ip}'\nport = {PORT}\n\
             unix_socket_directories = '{sock}'\n\
             fsync = off\nsynchronous_commit = off\n\
             shared_buffers = 16MB\nmax_connections = 30\n\
             wal_level = replica\nmax_wal_senders = 8\nhot_standby = on\n\
             wal_receiver_status_interval = 1s\n\
             logging_collector = off\nlog_min_messages = warning\n",
            ip = self.ip,
            sock = self.sock().display(),
        )
        .expect("append postgresql.conf");
    }

    /// The address it listens on.
    pub fn ip(&self) -> &str {
        &self.ip
    }

    /// The port it listens on (always 5432).
    pub fn port(&self) -> u16 {
        PORT
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn data_s(&self) -> String {
        self.data().display().to_string()
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// The server log.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// A live-source target for this instance.
    pub fn target(&self, cluster: &str, seq: u32) -> LiveTarget {
        LiveTarget {
            cluster: cluster.to_string(),
            seq: Some(seq),
            instance: format!("{cluster}-{seq}"),
            ip: self.ip.clone(),
            port: PORT,
        }
    }

    /// Connection settings as Pigsty's monitor user (trust auth, no TLS, no password file).
    pub fn monitor_config() -> PgConfig {
        PgConfig {
            user: MONITOR_USER.to_string(),
            password: None,
            dbname: "postgres".to_string(),
            sslmode: "disable".to_string(),
            sslrootcert: None,
            passfile: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Runs SQL as the superuser over the unix socket; the unaligned, tuples-only output.
    pub fn sql(&self, sql: &str) -> String {
        match self.try_sql(sql) {
            Ok(out) => out,
            Err(e) => panic!("{} on {}: {e}\n{}", sql, self.ip, self.log_tail()),
        }
    }

    /// `sql`, returning the error text instead of panicking.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let sock = self.sock().display().to_string();
        let port = PORT.to_string();
        let out = self.command(
            "psql",
            &[
                "-h",
                &sock,
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        );
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start(&mut self) {
        let log = self.log().display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &self.data_s(), "-l", &log, "-w", "-t", "90", "start"],
        );
        self.running = true;
    }

    /// Stops the server (fast shutdown) and waits for it.
    pub fn stop(&mut self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data_s(), "-m", "fast", "-w", "-t", "90", "stop"],
        );
        self.running = false;
    }

    /// Promotes a replica and returns once `pg_is_in_recovery()` is false.
    pub fn promote(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data_s(), "-w", "-t", "90", "promote"],
        );
        wait_until(&format!("{} promoted", self.ip), || {
            self.try_sql("SELECT pg_is_in_recovery()")
                .is_ok_and(|r| r == "f")
        });
    }

    /// Runs a PostgreSQL binary, panicking with its output and the log when it fails.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let out = self.command(program, args);
        if !out.status.success() {
            panic!(
                "{program} {args:?} failed ({}):\n{}\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            );
        }
        out
    }

    fn command(&self, program: &str, args: &[&str]) -> Output {
        let bin = Path::new(BIN).join(program);
        let mut cmd = if is_root() {
            // PostgreSQL refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        for var in [
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGPASSWORD",
            "PGDATABASE",
            "PGDATA",
            "PGSSLMODE",
            "PGPASSFILE",
            "PGSERVICE",
            "PGOPTIONS",
        ] {
            cmd.env_remove(var);
        }
        // The postgres user may not be allowed into the test's working directory.
        cmd.current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!("--- {} log tail ---\n{}", self.ip, lines[from..].join("\n"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_s();
            let _ = self.command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        // The relay goes after the server so the walreceiver is not left reconnecting.
        self.proxy.take();
    }
}

/// Polls `ready` every 100 ms until it holds, panicking after the deadline.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP relay on `ip` that connects upstream from `ip`, so the upstream server sees
/// the relay's address as the client's.
struct Proxy {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(ip: &str, upstream_ip: &str) -> Proxy {
        let ip: IpAddr = ip.parse().expect("a literal IP address");
        let upstream = SocketAddr::new(upstream_ip.parse().expect("a literal IP address"), PORT);
        let listener = std::net::TcpListener::bind((ip, 0)).expect("bind the relay");
        listener.set_nonblocking(true).expect("non-blocking relay");
        let port = listener.local_addr().expect("relay address").port();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("relay runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("relay listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((mut down, _)) = accepted else { continue };
                            tokio::spawn(async move {
                                let Ok(sock) = tokio::net::TcpSocket::new_v4() else { return };
                                if sock.bind(SocketAddr::new(ip, 0)).is_err() {
                                    return;
                                }
                                let Ok(mut up) = sock.connect(upstream).await else { return };
                                let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                            });
                        }
                    }
                }
            });
        });
        Proxy {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

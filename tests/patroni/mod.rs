//! A real two-member Patroni cluster (Debian's `patroni`, `etcd-server`, `python3-etcd`) on
//! loopback addresses, for the live-source tests. Everything runs as the `postgres` user
//! because PostgreSQL refuses to run as root and the tests usually do.

#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const PATRONI: &str = "/usr/bin/patroni";
const PATRONICTL: &str = "/usr/bin/patronictl";
const ETCD: &str = "/usr/bin/etcd";
const PYTHON: &str = "/usr/bin/python3";
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const RUNUSER: &str = "/usr/sbin/runuser";

/// How long a bootstrap may take before the harness gives up (about 20 s is normal).
pub const BOOTSTRAP_DEADLINE: Duration = Duration::from_secs(120);
/// How long a switchover may take before the harness gives up (about 3 s is normal).
pub const SWITCHOVER_DEADLINE: Duration = Duration::from_secs(60);

/// The Pigsty `pg-register` equivalent, run by Patroni as `on_role_change`: Patroni appends
/// `<action> <role> <scope>` to the configured command, whose first argument is the
/// member's own Consul agent URL.
pub const REGISTER_SCRIPT: &str = r#"
import json, sys, time, urllib.request

agent = sys.argv[1].rstrip("/")
action, role = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("manual", sys.argv[2])
log = open(sys.argv[0] + ".log", "a")
log.write(f"{time.time():.3f} {action} {role} {agent}\n")
log.flush()
# Pigsty's callback normalises these words and ignores the rest (standby_leader included).
if role in ("primary", "p", "master", "m", "leader", "l"):
    new = "primary"
elif role in ("standby", "s", "replica", "r", "slave"):
    new = "replica"
else:
    sys.exit(0)

http = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def rewrite(v):
    for old in ("primary", "replica"):
        if isinstance(v, str) and v.endswith(old):
            return v[: -len(old)] + new
    return v

with http.open(agent + "/v1/agent/services", timeout=5) as r:
    services = json.load(r)
for sid, s in sorted(services.items()):
    body = {
        "ID": s["ID"],
        "Name": s["Service"],
        "Tags": [rewrite(t) for t in (s.get("Tags") or [])],
        "Meta": {k: rewrite(v) for k, v in (s.get("Meta") or {}).items()},
        "Port": s.get("Port", 0),
        "Address": s.get("Address", ""),
    }
    req = urllib.request.Request(
        agent + "/v1/agent/service/register",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with http.open(req, timeout=5) as r:
        r.read()
log.write(f"{time.time():.3f} registered {len(services)} services as {new}\n")
"#;

/// Why the harness cannot run here, or `Ok` when everything it needs is installed.
pub fn available() -> Result<(), String> {
    for bin in [PATRONI, PATRONICTL, ETCD, PYTHON] {
        if !Path::new(bin).exists() {
            return Err(format!("{bin} not found"));
        }
    }
    if !Path::new(PG_BIN).join("postgres").exists() {
        return Err(format!("{PG_BIN}/postgres not found"));
    }
    let etcd_module = std::process::Command::new(PYTHON)
        .args(["-c", "import etcd"])
        .output()
        .map_err(|e| format!("running {PYTHON}: {e}"))?;
    if !etcd_module.status.success() {
        return Err("python3-etcd missing".into());
    }
    if is_root() {
        postgres_ids()?;
        if !Path::new(RUNUSER).exists() {
            return Err(format!("{RUNUSER} not found"));
        }
    }
    Ok(())
}

/// True when the test may go on; otherwise prints SKIPPED (or panics when
/// `ROSTER_REQUIRE_EXTERNAL=1`, so CI cannot pass by skipping).
pub fn require(test: &str) -> bool {
    match available() {
        Ok(()) => true,
        Err(why) => {
            let msg = format!("SKIPPED: patroni/etcd not installed ({test}: {why})");
            if std::env::var("ROSTER_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
            false
        }
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| format!("running id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "no postgres user".to_string())
    };
    Ok((id("-u")?, id("-g")?))
}

/// A free TCP port on 127.0.0.1 (bound then released; good enough for a test).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// One Patroni member of the harness.
#[derive(Debug)]
pub struct Member {
    /// Patroni member name (Pigsty names members after the instance: `pg-pat-1`).
    pub name: String,
    /// Loopback address of both its REST API (8008) and PostgreSQL (5432).
    pub ip: String,
    /// Its Patroni configuration file.
    pub config: PathBuf,
    /// Its PostgreSQL data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
    process: Option<std::process::Child>,
}

impl Member {
    /// `http://ip:8008`.
    pub fn api(&self) -> String {
        format!("http://{}:8008", self.ip)
    }
}

/// What the harness sees of the cluster at one moment (from `GET /cluster`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    /// Name of the running leader.
    pub leader: String,
    /// Names of running replicas on the leader's timeline.
    pub replicas: Vec<String>,
    /// The leader's timeline.
    pub timeline: u64,
}

/// A running etcd plus Patroni members; dropping it kills everything and removes the dirs.
pub struct PatroniCluster {
    /// Patroni scope (the Pigsty cluster name).
    pub scope: String,
    /// The members, in the order given.
    pub members: Vec<Member>,
    dir: tempfile::TempDir,
    etcd: Option<std::process::Child>,
    etcd_log: PathBuf,
    http: reqwest::Client,
}

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Patroni scope.
    pub scope: String,
    /// `(name, ip)` of each member; the first bootstraps and leads.
    pub members: Vec<(String, String)>,
    /// Agent URL per member for the `on_role_change` re-registration callback, if any.
    pub callback_agents: Option<Vec<String>>,
}

impl PatroniCluster {
    /// Starts etcd and every member, then waits until there is a leader and every other
    /// member streams from it.
    pub async fn start(opts: ClusterOptions) -> Result<PatroniCluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("roster-patroni-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        let mut cluster = PatroniCluster {
            scope: opts.scope.clone(),
            members: Vec::new(),
            etcd_log: dir.path().join("etcd.log"),
            dir,
            etcd: None,
            http,
        };
        // Built before anything starts, so that a failure midway drops (and kills) what runs.
        cluster.boot(&opts).await?;
        Ok(cluster)
    }

    async fn boot(&mut self, opts: &ClusterOptions) -> Result<(), String> {
        let root = self.dir.path().to_path_buf();
        let script = root.join("pg-register.py");
        std::fs::write(&script, REGISTER_SCRIPT).map_err(|e| format!("writing script: {e}"))?;

        let client_port = free_port()?;
        let peer_port = free_port()?;
        let etcd_data = root.join("etcd");
        std::fs::create_dir_all(&etcd_data).map_err(|e| format!("etcd dir: {e}"))?;

        for (i, (name, ip)) in opts.members.iter().enumerate() {
            let mdir = root.join(name);
            let sock = mdir.join("sock");
            std::fs::create_dir_all(&sock).map_err(|e| format!("member dir: {e}"))?;
            let data_dir = mdir.join("data");
            let callbacks = match &opts.callback_agents {
                Some(agents) => {
                    let agent = agents
                        .get(i)
                        .ok_or_else(|| format!("no callback agent for {name}"))?;
                    format!(
                        "  callbacks:\n    on_role_change: '{PYTHON} {} {agent}'\n",
                        script.display()
                    )
                }
                None => String::new(),
            };
            let yaml = member_yaml(
                &opts.scope,
                name,
                ip,
                client_port,
                &data_dir,
                &sock,
                &mdir.join("pgpass"),
                &callbacks,
            );
            let config = mdir.join("patroni.yml");
            std::fs::write(&config, yaml).map_err(|e| format!("writing config: {e}"))?;
            self.members.push(Member {
                name: name.clone(),
                ip: ip.clone(),
                config,
                data_dir,
                log: mdir.join("patroni.log"),
                process: None,
            });
        }
        chown_tree(&root)?;

        let etcd_args: Vec<String> = vec![
            "--name".into(),
            "roster-test".into(),
            "--data-dir".into(),
            etcd_data.display().to_string(),
            "--listen-client-urls".into(),
            format!("http://127.0.0.1:{client_port}"),
            "--advertise-client-urls".into(),
            format!("http://127.0.0.1:{client_port}"),
            "--listen-peer-urls".into(),
            format!("http://127.0.0.1:{peer_port}"),
            "--initial-advertise-peer-urls".into(),
            format!("http://127.0.0.1:{peer_port}"),
            "--initial-cluster".into(),
            format!("roster-test=http://127.0.0.1:{peer_port}"),
            // Patroni's `etcd:` store speaks the v2 API, off by default in etcd 3.4.
            "--enable-v2=true".into(),
        ];
        self.etcd = Some(spawn_as_postgres(ETCD, &etcd_args, &self.etcd_log)?);
        self.wait_etcd(client_port).await?;

        // The first member bootstraps alone so that it is the leader the spec expects.
        let first = self.start_member(0)?;
        self.members[0].process = Some(first);
        self.wait_for(BOOTSTRAP_DEADLINE, |r| r.leader == opts.members[0].0)
            .await?;
        for i in 1..self.members.len() {
            let child = self.start_member(i)?;
            self.members[i].process = Some(child);
        }
        let n = self.members.len();
        self.wait_for(BOOTSTRAP_DEADLINE, |r| r.replicas.len() + 1 == n)
            .await?;
        Ok(())
    }

    fn start_member(&self, i: usize) -> Result<std::process::Child, String> {
        let m = &self.members[i];
        spawn_as_postgres(PATRONI, &[m.config.display().to_string()], &m.log)
    }

    async fn wait_etcd(&self, port: u16) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{port}/health");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!("etcd did not come up\n{}", self.logs()))
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    /// The cluster's roles now, when there is a running leader (asked of every member
    /// until one answers, so a member being restarted does not matter).
    pub async fn roles(&self) -> Option<Roles> {
        for m in &self.members {
            let Some(doc) = self.get_json(&format!("{}/cluster", m.api())).await else {
                continue;
            };
            let members = doc["members"].as_array()?;
            let leader = members
                .iter()
                .find(|x| x["role"] == "leader" && x["state"] == "running")?;
            let timeline = leader["timeline"].as_u64()?;
            let leader_name = leader["name"].as_str()?.to_string();
            let streaming = self.streaming_from(&leader_name).await;
            let replicas = members
                .iter()
                .filter(|x| {
                    x["role"] == "replica"
                        && (x["state"] == "running" || x["state"] == "streaming")
                        && x["timeline"].as_u64() == Some(timeline)
                })
                .filter_map(|x| x["name"].as_str().map(String::from))
                .filter(|n| streaming.contains(n))
                .collect();
            return Some(Roles {
                leader: leader_name,
                replicas,
                timeline,
            });
        }
        None
    }

    /// Names (application_name) of the standbys streaming from `leader`, per its `/patroni`.
    async fn streaming_from(&self, leader: &str) -> Vec<String> {
        let Some(m) = self.members.iter().find(|m| m.name == leader) else {
            return Vec::new();
        };
        let Some(doc) = self.get_json(&format!("{}/patroni", m.api())).await else {
            return Vec::new();
        };
        doc["replication"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["state"] == "streaming")
                    .filter_map(|r| r["application_name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn get_json(&self, url: &str) -> Option<serde_json::Value> {
        let r = self
            .http
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    /// Polls until `done` holds for the cluster's roles, or the deadline passes.
    pub async fn wait_for(
        &self,
        deadline: Duration,
        done: impl Fn(&Roles) -> bool,
    ) -> Result<Roles, String> {
        let until = Instant::now() + deadline;
        let mut last = None;
        while Instant::now() < until {
            if let Some(r) = self.roles().await {
                if done(&r) {
                    return Ok(r);
                }
                last = Some(r);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(format!(
            "cluster {} did not converge within {deadline:?}; last roles {last:?}\n{}",
            self.scope,
            self.logs()
        ))
    }

    /// `patronictl switchover --leader FROM --candidate TO --force`, then waits until `to`
    /// leads and `from` streams from it.
    pub async fn switchover(&self, from: &str, to: &str) -> Result<Roles, String> {
        let before = self
            .roles()
            .await
            .ok_or_else(|| format!("no leader before the switchover\n{}", self.logs()))?;
        let config = self.member(from).config.display().to_string();
        let out = run_as_postgres(
            PATRONICTL,
            &[
                "-c",
                &config,
                "switchover",
                "--leader",
                from,
                "--candidate",
                to,
                "--force",
            ],
        )
        .await?;
        if !out.status.success() {
            return Err(format!(
                "patronictl switchover failed: {}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            ));
        }
        let n = self.members.len();
        self.wait_for(SWITCHOVER_DEADLINE, |r| {
            r.leader == to
                && r.timeline > before.timeline
                && r.replicas.len() + 1 == n
                && r.replicas.iter().any(|x| x == from)
        })
        .await
    }

    /// The `on_role_change` callback's own log (one line per call), empty when it never ran.
    pub fn callback_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pg-register.py.log")).unwrap_or_default()
    }

    /// Runs the re-registration script by hand, as Pigsty's documented repair does
    /// (`pg-register $(pg-role)`), against `agent` with `role`.
    pub async fn register(&self, agent: &str, role: &str) -> Result<(), String> {
        let script = self.dir.path().join("pg-register.py");
        let out = tokio::process::Command::new(PYTHON)
            .arg(&script)
            .arg(agent)
            .arg(role)
            .output()
            .await
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg-register failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The tail of every log (etcd, each member, the callback), for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut add = |name: &str, path: &Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(25)..].join("\n");
            out.push_str(&format!("--- {name} ({})\n{tail}\n", path.display()));
        };
        add("etcd", &self.etcd_log);
        for m in &self.members {
            add(&m.name, &m.log);
        }
        add("callback", &self.dir.path().join("pg-register.py.log"));
        out
    }
}

impl Drop for PatroniCluster {
    fn drop(&mut self) {
        // Patroni first, so that it cannot restart the PostgreSQL killed next.
        for m in &mut self.members {
            if let Some(child) = m.process.take() {
                kill_group(child);
            }
        }
        // Patroni detaches the postmaster into its own session: stop it by its pid file.
        for m in &self.members {
            let pid_file = m.data_dir.join("postmaster.pid");
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            {
                // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children.
                let _ = std::process::Command::new("kill")
                    .args(["-QUIT", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
                let until = Instant::now() + Duration::from_secs(5);
                while Instant::now() < until && Path::new(&format!("/proc/{pid}")).exists() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        if let Some(child) = self.etcd.take() {
            kill_group(child);
        }
        // The TempDir removes the directory tree when it drops right after this.
    }
}

/// Kills the process group led by `child` (runuser and what it runs) and reaps the leader.
fn kill_group(mut child: std::process::Child) {
    let pid = child.id();
    let kill = |target: &str| {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", target])
            .stderr(Stdio::null())
            .status();
    };
    // What runuser runs dies first, so that runuser reaps it rather than leaving a zombie
    // to an init that may never reap it.
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for c in children.split_whitespace() {
        kill(c);
    }
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Anything else left in the group (runuser itself if it hung on).
    kill(&format!("-{pid}"));
    let _ = child.wait();
}

/// Gives the whole tree to `postgres` (only needed, and only possible, as root).
fn chown_tree(root: &Path) -> Result<(), String> {
    if !is_root() {
        return Ok(());
    }
    let (uid, gid) = postgres_ids()?;
    fn walk(p: &Path, uid: u32, gid: u32) -> Result<(), String> {
        std::os::unix::fs::chown(p, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", p.display()))?;
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            for e in entries.flatten() {
                walk(&e.path(), uid, gid)?;
            }
        }
        Ok(())
    }
    walk(root, uid, gid)
}

fn as_postgres(program: &str, args: &[String]) -> std::process::Command {
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new(RUNUSER);
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        std::process::Command::new(program)
    };
    cmd.args(args);
    // A proxy in the environment would capture Patroni's and patronictl's REST calls.
    for v in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NO_PROXY", "*");
    cmd
}

/// Starts `program` as postgres in a new process group (led by the child), output to `log`.
fn spawn_as_postgres(
    program: &str,
    args: &[String],
    log: &Path,
) -> Result<std::process::Child, String> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    as_postgres(program, args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))
}

async fn run_as_postgres(program: &str, args: &[&str]) -> Result<std::process::Output, String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let cmd = as_postgres(program, &args);
    tokio::process::Command::from(cmd)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("running {program}: {e}"))
}

#[allow(clippy::too_many_arguments)]
fn member_yaml(
    scope: &str,
    name: &str,
    ip: &str,
    etcd_port: u16,
    data_dir: &Path,
    sock: &Path,
    pgpass: &Path,
    callbacks: &str,
) -> String {
    format!(
        r#"scope: {scope}
namespace: /roster-test/
name: {name}
log:
  level: INFO
restapi:
  listen: {ip}:8008
  connect_address: {ip}:8008
etcd:
  host: 127.0.0.1:{etcd_port}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: 'on'
  initdb:
  - encoding: UTF8
  - locale: C
postgresql:
  listen: {ip}:5432
  connect_address: {ip}:5432
  data_dir: {data_dir}
  bin_dir: {PG_BIN}
  pgpass: {pgpass}
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: '{sock}'
    shared_buffers: 16MB
    max_connections: 20
  # Patroni and replication are trusted; anyone else needs a password, which roster lacks,
  # so its PostgreSQL probe fails and Patroni is the witness.
  pg_hba:
  - local all all trust
  - host replication replicator 127.0.0.0/8 trust
  - host all postgres 127.0.0.0/8 trust
  - host all all 127.0.0.0/8 scram-sha-256
{callbacks}tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
"#,
        data_dir = data_dir.display(),
        sock = sock.display(),
        pgpass = pgpass.display(),
    )
}

//! What the simulator's catalog is given and answers with: nodes, services, checks and
//! their statuses as definitions, apart from the catalog that indexes them.

use std::collections::BTreeMap;
use std::fmt;

/// A health check status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    /// The check passes.
    Passing,
    /// The check warns.
    Warning,
    /// The check fails.
    Critical,
}

impl CheckStatus {
    /// Consul's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passing => "passing",
            CheckStatus::Warning => "warning",
            CheckStatus::Critical => "critical",
        }
    }

    /// Parses Consul's spelling.
    pub fn parse(word: &str) -> Option<CheckStatus> {
        match word {
            "passing" => Some(CheckStatus::Passing),
            "warning" => Some(CheckStatus::Warning),
            "critical" => Some(CheckStatus::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// Consul's own node liveness check (`serfHealth`).
    Serf,
    /// TCP connect to `host:port`.
    Tcp(String),
    /// HTTP GET of a URL.
    Http(String),
    /// A TTL the service must refresh.
    Ttl(String),
    /// Anything else (script, grpc...): kept as its type name.
    Other(String),
}

impl CheckKind {
    /// Consul's `Type` field.
    pub fn type_name(&self) -> &str {
        match self {
            CheckKind::Serf => "",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Ttl(_) => "ttl",
            CheckKind::Other(t) => t,
        }
    }
}

/// A health check definition as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckDef {
    /// CheckID; empty means `service:<service id>` (numbered when there are several).
    pub id: String,
    /// Human name; empty means `Service '<name>' check`.
    pub name: String,
    /// What it probes.
    pub kind: CheckKind,
    /// Probe interval (`15s`).
    pub interval: String,
    /// Probe timeout (`1s`).
    pub timeout: String,
    /// Status to start with.
    pub status: CheckStatus,
    /// Free notes.
    pub notes: String,
    /// Output; empty means a plausible one is made up from kind and status.
    pub output: String,
}

impl CheckDef {
    /// A TCP check with Pigsty's 15s/1s timing.
    pub fn tcp(target: impl Into<String>) -> CheckDef {
        CheckDef::probe(CheckKind::Tcp(target.into()))
    }

    /// An HTTP check with Pigsty's 15s/1s timing.
    pub fn http(url: impl Into<String>) -> CheckDef {
        CheckDef::probe(CheckKind::Http(url.into()))
    }

    fn probe(kind: CheckKind) -> CheckDef {
        CheckDef {
            id: String::new(),
            name: String::new(),
            kind,
            interval: "15s".into(),
            timeout: "1s".into(),
            status: CheckStatus::Passing,
            notes: String::new(),
            output: String::new(),
        }
    }
}

/// A service's Consul weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weights {
    /// Weight while passing.
    pub passing: i32,
    /// Weight while warning.
    pub warning: i32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            passing: 1,
            warning: 1,
        }
    }
}

/// A service registration as an agent receives it (the whole definition).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServiceDef {
    /// Service ID; empty means the name.
    pub id: String,
    /// Service name.
    pub name: String,
    /// Tags in registration order.
    pub tags: Vec<String>,
    /// Service address; empty means the node's.
    pub address: String,
    /// String meta.
    pub meta: BTreeMap<String, String>,
    /// Port; 0 is omitted on the wire.
    pub port: u16,
    /// Weights.
    pub weights: Weights,
    /// EnableTagOverride flag.
    pub enable_tag_override: bool,
    /// Service tagged addresses: name -> (address, port).
    pub tagged_addresses: BTreeMap<String, (String, u16)>,
    /// Checks attached to the service.
    pub checks: Vec<CheckDef>,
}

/// A node registration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeDef {
    /// Node name.
    pub name: String,
    /// Node address.
    pub address: String,
    /// Node meta.
    pub meta: BTreeMap<String, String>,
    /// Extra tagged addresses (lan/wan default to the address).
    pub tagged_addresses: BTreeMap<String, String>,
    /// True when a Consul agent runs on the node (agent endpoints answer on its address).
    pub agent: bool,
}

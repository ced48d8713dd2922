//! The roster command line: parse, resolve settings once, dispatch.

use clap::{Parser, Subcommand};
use roster::config::{self, SourceArgs};
use roster::drift::Severity;
use roster::report::Format;
use roster::tui::state::Options;
use roster::tui::theme::ThemeKind;
use std::io::IsTerminal;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Without a command, roster opens the interactive UI on the configured sources.

Examples:
  roster demo                                   the interactive UI on the built-in demo fleet
  roster --consul 10.10.10.10:8500 --targets /etc/prometheus/targets --inventory pigsty.yml
  roster check --consul 10.10.10.10:8500 --targets /etc/prometheus/targets
  roster check --inventory pigsty.yml --targets 'targets/*.yml' --format json
  roster check --format prometheus > /var/lib/node_exporter/roster.prom
  roster serve --listen 127.0.0.1:9639          drift as live metrics for Prometheus
  roster sim --listen 127.0.0.1:8500 --write-targets /tmp/targets

Environment (as the Consul CLI): CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN_FILE,
CONSUL_HTTP_TOKEN, CONSUL_HTTP_AUTH, CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY,
CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
CONSUL_TLS_SERVER_NAME, CONSUL_NAMESPACE, CONSUL_PARTITION.";

const CHECK_HELP: &str = "\
Exit codes: 0 no finding at or above --fail-on; 1 such findings exist;
2 a configured source could not be read (findings from the others are still printed).
With --live --cluster CLS (did every registration follow the live roles?): 0 yes;
1 no, or a finding of the cluster reaches --fail-on; 2 it cannot be told.

Examples:
  roster check --consul 127.0.0.1:8500 --targets /etc/prometheus/targets --inventory pigsty.yml
  roster check --no-consul --targets 'targets/pgsql/*.yml' --inventory pigsty.yml --fail-on error
  roster check --format json | jq '.findings[] | select(.kind == \"role-mismatch\")'
  roster check --live --cluster pg-test --fail-on error --wait 60s";

const FIX_HELP: &str = "\
Exit codes as `roster check`: 0 nothing drifts in the selection afterwards; 1 findings
remain; 2 a write failed, was refused or cancelled, or a source could not be read.

Examples:
  roster fix --instance pg-test-1 --to targets --dry-run
  roster fix --cluster pg-test --to consul --authority targets --yes
  roster fix --kind role-mismatch --to targets -f json
  roster fix --instance pg-test-2 --to command --command 'ssh {ip} sudo /pg/bin/pg-register {role}'";

const DEMO_HELP: &str = "\
The demo's live roles come from a simulated Patroni REST API on each member's loopback
address (never from a PostgreSQL running here); `--live` is the default.

Examples:
  roster demo                     the UI on the demo fleet (live: it watches the simulator)
  roster demo --check             the check report of the demo fleet
  roster demo --check -f json     the same as JSON
  roster demo --check --cluster pg-web    did every place follow pg-web's switchover?
  roster demo --no-live           without the live source";

const SERVE_HELP: &str = "\
Read-only: the service has no write path. Logs go to stderr (the journal under systemd)
unless --log-file is given; SIGTERM or SIGINT stops it after the requests in flight.

Endpoints:
  /metrics        Prometheus exposition: findings, source up/stale/age, identity changes, process
  /healthz        200 while every source is read, 503 with the reason otherwise
  /api/v1/fleet   the `roster check --format json` document of the latest state

Examples:
  roster serve --consul 127.0.0.1:8500 --targets /etc/prometheus/targets --inventory pigsty.yml
  roster serve --listen 0.0.0.0:9639 --token-file /etc/roster/consul-token --live";

const SIM_HELP: &str = "\
Examples:
  roster sim --listen 127.0.0.1:8500 --write-targets /tmp/targets --write-inventory /tmp/pigsty.yml
  roster sim --generate 2500 --members 4 --drift-every 10
  roster sim --fleet my-fleet.yml --acl-token-file token
  roster sim --patroni            also each member's Patroni REST API (real roles) on port 8008";

/// roster: find and repair identity drift in Pigsty-style PostgreSQL fleets.
#[derive(Parser, Debug)]
#[command(name = "roster", version, about, after_help = EXAMPLES)]
struct Cli {
    // Sources last: their help heading holds for the flags flattened after them.
    #[command(flatten)]
    ui: UiArgs,
    #[command(flatten)]
    log: LogArgs,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read every source once, report drift, exit 0/1/2 (for scripts, cron and alerting)
    #[command(after_help = CHECK_HELP)]
    Check {
        #[command(flatten)]
        args: CheckArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Watch the sources and serve the drift as Prometheus metrics, JSON and a health check
    #[command(after_help = SERVE_HELP)]
    Serve {
        #[command(flatten)]
        args: roster::serve::ServeArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Re-register drifting instances: plan, show, confirm, apply, verify
    #[command(after_help = FIX_HELP)]
    Fix {
        #[command(flatten)]
        args: Box<roster::fix::cli::FixArgs>,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        sources: Box<SourceArgs>,
    },
    /// The built-in demo fleet (a simulated Consul and Patroni, target files, an inventory) in the UI
    #[command(after_help = DEMO_HELP)]
    Demo {
        #[command(flatten)]
        args: DemoArgs,
        #[command(flatten)]
        ui: UiArgs,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Run the Consul-compatible simulator standalone
    #[command(after_help = SIM_HELP)]
    Sim(Box<roster::sim::SimArgs>),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "Example:\n  roster completions bash > /etc/bash_completion.d/roster")]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// The flags of the interactive UI (the demo's too).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
struct UiArgs {
    /// Colour theme of the UI: dark, light or none (NO_COLOR also turns colour off)
    #[arg(long, value_name = "THEME")]
    theme: Option<String>,
    #[command(flatten)]
    write: WriteArgs,
}

/// The flag that turns writing off, for the commands that can write.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
struct WriteArgs {
    /// Turn every write path off (shown as READ-ONLY in the header)
    #[arg(long)]
    read_only: bool,
}

/// Where the log goes, for every command that logs.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
struct LogArgs {
    /// Log file [default for the UI: $XDG_STATE_HOME/roster/roster.log; level: ROSTER_LOG]
    #[arg(long, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
}

impl UiArgs {
    /// These flags, each one not given taken from `outer` (given before the command name).
    fn or(self, outer: &UiArgs) -> UiArgs {
        UiArgs {
            theme: self.theme.or_else(|| outer.theme.clone()),
            write: self.write.or(&outer.write),
        }
    }
}

impl WriteArgs {
    fn or(self, outer: &WriteArgs) -> WriteArgs {
        WriteArgs {
            read_only: self.read_only || outer.read_only,
        }
    }
}

impl LogArgs {
    fn or(self, outer: &LogArgs) -> LogArgs {
        LogArgs {
            log_file: self.log_file.or_else(|| outer.log_file.clone()),
        }
    }
}

#[derive(clap::Args, Debug)]
struct DemoArgs {
    /// Print the `roster check` report instead of opening the UI (the default without a terminal)
    #[arg(long)]
    check: bool,
    /// Leave the live source (the simulated Patroni) out
    #[arg(long)]
    no_live: bool,
    /// The default, kept so that `roster demo --live` still reads
    #[arg(long, hide = true)]
    live: bool,
    /// Config file for the UI's theme and [keys] [default: $XDG_CONFIG_HOME/roster/config.toml]
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    out: CheckArgs,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    format: Format,
    /// Lowest severity that makes the exit code 1
    #[arg(long, value_name = "SEVERITY", default_value = "warning", value_parser = parse_severity)]
    fail_on: Severity,
    /// Only this cluster (repeatable)
    #[arg(long = "cluster", value_name = "CLS")]
    clusters: Vec<String>,
    /// Keep reading until nothing at or above --fail-on is left (with --live --cluster: until
    /// every registration follows), at most this long (e.g. 60s)
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    wait: Option<std::time::Duration>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("{s:?} is not one of error, warning, info"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run(cli));
    ExitCode::from(code)
}

async fn run(cli: Cli) -> u8 {
    let env = |k: &str| std::env::var(k).ok();
    let Cli {
        sources: outer,
        ui: outer_ui,
        log: outer_log,
        command,
    } = cli;
    // Flags given before a command name count as the command's own when it takes them;
    // one it does not take is an error rather than silently ignored.
    let stray = match &command {
        None => None,
        Some(Command::Check { .. } | Command::Serve { .. }) => {
            (outer_ui != UiArgs::default()).then_some("--theme and --read-only")
        }
        Some(Command::Fix { .. }) => (outer_ui.theme.is_some()).then_some("--theme"),
        Some(Command::Demo { .. }) => (SourceArgs {
            config: None,
            ..outer.clone()
        } != SourceArgs::default())
        .then_some("source flags"),
        Some(Command::Sim(_) | Command::Completions { .. }) => (outer != SourceArgs::default()
            || outer_ui != UiArgs::default()
            || outer_log != LogArgs::default())
        .then_some("roster's source, UI and log flags"),
    };
    if let (Some(what), Some(name)) = (stray, command.as_ref().map(Command::name)) {
        eprintln!("roster: `roster {name}` takes no {what} (see `roster {name} --help`)");
        return 2;
    }
    let interactive =
        matches!(command, None | Some(Command::Demo { .. })) && std::io::stdout().is_terminal();
    let log_file = match &command {
        Some(
            Command::Check { log, .. }
            | Command::Serve { log, .. }
            | Command::Fix { log, .. }
            | Command::Demo { log, .. },
        ) => log.clone().or(&outer_log),
        _ => outer_log.clone(),
    }
    .log_file
    .or_else(|| {
        interactive
            .then(|| roster::logging::default_path(&env))
            .flatten()
    });
    let service = matches!(command, Some(Command::Serve { .. }));
    let logging = match log_file {
        Some(path) => Some(roster::logging::init(&path, env("ROSTER_LOG").as_deref())),
        None if service => Some(roster::logging::init_stderr(env("ROSTER_LOG").as_deref())),
        None => None,
    };
    if let Some(Err(e)) = logging {
        eprintln!("roster: warning: not logging: {e}");
    }
    match command {
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "roster", &mut std::io::stdout());
            0
        }
        Some(Command::Check { args, sources, .. }) => check(&sources.or(&outer), &args).await,
        Some(Command::Serve { args, sources, .. }) => {
            let Some(settings) = settings(&sources.or(&outer)) else {
                return 2;
            };
            for w in &settings.warnings {
                eprintln!("roster: warning: {w}");
            }
            roster::serve::run(settings, &args).await
        }
        Some(Command::Fix {
            args,
            write,
            sources,
            ..
        }) => {
            let Some(settings) = settings(&sources.or(&outer)) else {
                return 2;
            };
            let read_only = write.or(&outer_ui.write).read_only || settings.read_only;
            roster::fix::cli::run(&settings, &args, read_only).await
        }
        Some(Command::Demo { mut args, ui, .. }) => {
            args.config = args.config.or(outer.config);
            demo(&args, &ui.or(&outer_ui)).await
        }
        Some(Command::Sim(args)) => match roster::sim::run(*args).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("roster sim: {e:#}");
                2
            }
        },
        None => {
            if !std::io::stdout().is_terminal() {
                eprintln!(
                    "roster: the interactive UI needs a terminal; use `roster check` in scripts (see `roster --help`)"
                );
                return 2;
            }
            ui(&outer, &outer_ui).await
        }
    }
}

impl Command {
    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Check { .. } => "check",
            Command::Serve { .. } => "serve",
            Command::Fix { .. } => "fix",
            Command::Demo { .. } => "demo",
            Command::Sim(_) => "sim",
            Command::Completions { .. } => "completions",
        }
    }
}

/// The settings the flags, the environment and the config file give; on an error, says
/// why and the command exits 2.
fn settings(sources: &SourceArgs) -> Option<config::Settings> {
    let env = |k: &str| std::env::var(k).ok();
    config::resolve(sources, &env)
        .map_err(|e| eprintln!("roster: {e}"))
        .ok()
}

async fn check(sources: &SourceArgs, args: &CheckArgs) -> u8 {
    let Some(settings) = settings(sources) else {
        return 2;
    };
    for w in &settings.warnings {
        eprintln!("roster: warning: {w}");
    }
    let opts = roster::check::CheckOptions {
        format: args.format,
        fail_on: args.fail_on,
        clusters: args.clusters.clone(),
        wait: args.wait,
        follow_only: sources.live && !args.clusters.is_empty(),
    };
    roster::check::run(&settings, &opts).await
}

async fn demo(args: &DemoArgs, ui_args: &UiArgs) -> u8 {
    let demo = match roster::demo::Demo::start().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("roster demo: {e:#}");
            return 2;
        }
    };
    let sources = demo.command_source_args(!args.no_live, args.config.clone());
    let code = if args.check || !std::io::stdout().is_terminal() {
        check(&sources, &args.out).await
    } else {
        ui(&sources, ui_args).await
    };
    demo.stop().await;
    code
}

async fn ui(sources: &SourceArgs, ui_args: &UiArgs) -> u8 {
    let Some(settings) = settings(sources) else {
        return 2;
    };
    let theme_name = ui_args.theme.as_deref().or(settings.theme.as_deref());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = Options {
        read_only: ui_args.write.read_only || settings.read_only,
        theme: ThemeKind::resolve(theme_name, no_color),
        size: crossterm::terminal::size().unwrap_or((80, 24)),
    };
    match roster::tui::runtime::run(settings, options).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("roster: {e:#}");
            2
        }
    }
}

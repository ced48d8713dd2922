//! The roster command line: parse, resolve settings once, dispatch.

use clap::{Parser, Subcommand};
use roster::config::{self, SourceArgs};
use roster::drift::Severity;
use roster::fleet::Fleet;
use roster::gather::gather;
use roster::report::{CheckResult, Format};
use std::io::Write;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  roster demo                                   run on the built-in demo fleet
  roster check --consul 10.10.10.10:8500 --targets /etc/prometheus/targets
  roster check --inventory pigsty.yml --targets 'targets/*.yml' --format json
  roster check --format prometheus > /var/lib/node_exporter/roster.prom
  roster sim --listen 127.0.0.1:8500 --write-targets /tmp/targets

Environment (as the Consul CLI): CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN_FILE,
CONSUL_HTTP_TOKEN, CONSUL_HTTP_AUTH, CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY,
CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
CONSUL_TLS_SERVER_NAME, CONSUL_NAMESPACE, CONSUL_PARTITION.";

const CHECK_HELP: &str = "\
Exit codes: 0 no finding at or above --fail-on; 1 such findings exist;
2 a configured source could not be read (findings from the others are still printed).

Examples:
  roster check --consul 127.0.0.1:8500 --targets /etc/prometheus/targets --inventory pigsty.yml
  roster check --no-consul --targets 'targets/pgsql/*.yml' --inventory pigsty.yml --fail-on error
  roster check --format json | jq '.findings[] | select(.kind == \"role-mismatch\")'";

/// roster: find and repair identity drift in Pigsty-style PostgreSQL fleets.
#[derive(Parser, Debug)]
#[command(name = "roster", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    sources: SourceArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read every source once, report drift, exit 0/1/2 (for scripts, cron and alerting)
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Run against the built-in demo fleet (a simulated Consul, target files, an inventory)
    Demo(CheckArgs),
    /// Run the Consul-compatible simulator standalone
    Sim(Box<roster::sim::SimArgs>),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    format: Format,
    /// Lowest severity that makes the exit code 1
    #[arg(long, value_name = "SEVERITY", default_value = "warning", value_parser = parse_severity)]
    fail_on: Severity,
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
    match cli.command {
        Some(Command::Check(args)) => check(&cli.sources, &args).await,
        Some(Command::Demo(args)) => demo(&args).await,
        Some(Command::Sim(args)) => match roster::sim::run(*args).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("roster sim: {e:#}");
                2
            }
        },
        None => {
            eprintln!(
                "roster: choose a command (try `roster demo`, or `roster check --help`); see `roster --help`"
            );
            2
        }
    }
}

async fn check(sources: &SourceArgs, args: &CheckArgs) -> u8 {
    let env = |k: &str| std::env::var(k).ok();
    let settings = match config::resolve(sources, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roster: {e}");
            return 2;
        }
    };
    for w in &settings.warnings {
        eprintln!("roster: warning: {w}");
    }
    let gathered = gather(&settings).await;
    if gathered.outputs.is_empty() {
        for n in &gathered.notes {
            eprintln!("roster: {n}");
        }
        eprintln!(
            "roster: no source to read: pass --consul, --targets or --inventory (or set CONSUL_HTTP_ADDR)"
        );
        return 2;
    }
    let result = CheckResult::new(Fleet::build(gathered.outputs), gathered.notes);
    emit(&result, args)
}

fn emit(result: &CheckResult, args: &CheckArgs) -> u8 {
    let text = result.render(args.format);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    u8::try_from(result.exit_code(args.fail_on)).unwrap_or(2)
}

async fn demo(args: &CheckArgs) -> u8 {
    let demo = match roster::demo::Demo::start().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("roster demo: {e:#}");
            return 2;
        }
    };
    let code = check(&demo.source_args(), args).await;
    demo.stop().await;
    code
}

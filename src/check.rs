//! `roster check`: one read and a report, or (`--wait`) reads until the selected clusters
//! are clean, printing each change, for the on-call engineer right after a switchover.

use crate::config::Settings;
use crate::consul::{Blocking, ConsulClient};
use crate::drift::{Finding, Follows, Severity, follows};
use crate::gather::gather;
use crate::report::{CheckResult, Format};
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

/// Shortest time between two rounds of `--wait`: each round re-reads every source, and a
/// Consul that answers blocking queries at once must not turn the wait into a flood.
const WAIT_ROUND: Duration = Duration::from_secs(1);

/// What to check and how to report it.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Output format of the final report.
    pub format: Format,
    /// Lowest severity that fails.
    pub fail_on: Severity,
    /// Only these clusters (all when empty).
    pub clusters: Vec<String>,
    /// Keep reading until clean, at most this long.
    pub wait: Option<Duration>,
    /// The on-call question (`--live --cluster`): done when every selected cluster's
    /// registrations follow its live roles ([`crate::drift::follows`]) and none of its
    /// findings reaches `fail_on`.
    pub follow_only: bool,
}

/// The answer to the cluster question for one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// 0 yes; 1 no (a registration does not follow, or a finding reaches `--fail-on`);
    /// 2 cannot tell (no live answer, a place not read, an unknown cluster).
    pub code: i32,
    /// One line per selected cluster: the verdict and its reasons.
    pub lines: Vec<String>,
}

impl CheckOptions {
    /// The exit code of a result under these options.
    pub fn exit_code(&self, r: &CheckResult) -> i32 {
        if self.follow_only {
            self.answer(r).code
        } else {
            r.exit_code(self.fail_on)
        }
    }

    /// The cluster question's answer: a "no" is known even when some source failed, a
    /// "yes" needs every source read and the verdict of [`crate::drift::follows`].
    pub fn answer(&self, r: &CheckResult) -> Answer {
        let (mut no, mut unknown) = (false, false);
        let mut lines = Vec::new();
        for name in &self.clusters {
            let Some(cluster) = r.fleet.clusters.iter().find(|c| &c.name == name) else {
                unknown = true;
                lines.push(format!("{name}: unknown: no place names this cluster"));
                continue;
            };
            let verdict = follows(&r.fleet, cluster);
            let failing = r
                .findings
                .iter()
                .filter(|f| &f.cluster == name && f.severity >= self.fail_on)
                .count();
            no |= failing > 0 || matches!(verdict, Follows::No(_));
            unknown |= matches!(verdict, Follows::Unknown(_));
            let mut line = match &verdict {
                Follows::Yes => format!("{name}: every registration follows the live roles"),
                Follows::No(why) => format!("{name}: not following: {}", why.join("; ")),
                Follows::Unknown(why) => format!(
                    "{name}: cannot tell whether every registration follows: {}",
                    why.join("; ")
                ),
            };
            if failing > 0 {
                line.push_str(&format!(
                    " ({failing} finding(s) at or above {})",
                    self.fail_on
                ));
            }
            lines.push(line);
        }
        let code = if no {
            1
        } else if unknown || r.fleet.sources.iter().any(|s| !s.is_ok()) {
            2
        } else {
            0
        };
        Answer { code, lines }
    }
}

/// Reads once (or until clean within `wait`), prints the report, returns the exit code.
pub async fn run(settings: &Settings, opts: &CheckOptions) -> u8 {
    let started = Instant::now();
    let mut result = read(settings, &opts.clusters).await;
    if result.fleet.sources.is_empty() {
        for n in &result.notes {
            eprintln!("roster: {}", crate::text::sanitize(n, 1000));
        }
        eprintln!(
            "roster: no source to read: pass --consul, --targets or --inventory (or set CONSUL_HTTP_ADDR)"
        );
        return 2;
    }
    if let Some(wait) = opts.wait {
        let mut index = 0;
        let client = settings
            .consul
            .as_ref()
            .and_then(|c| ConsulClient::new(c.config.clone()).ok());
        let mut shown = keys(&result.findings);
        print_state(started, &result, opts);
        while opts.exit_code(&result) != 0 && started.elapsed() < wait {
            let round = Instant::now();
            let left = wait.saturating_sub(started.elapsed());
            // Woken by Consul the moment a registration changes; the databases cannot be
            // watched, so they are asked again at least every two seconds.
            let nap = left.min(Duration::from_secs(2));
            match &client {
                Some(c) => {
                    let blocking = Blocking { index, wait: nap };
                    match c.health_service("postgres", Some(blocking)).await {
                        Ok((_, meta)) => index = meta.index,
                        Err(_) => tokio::time::sleep(nap).await,
                    }
                }
                None => tokio::time::sleep(nap).await,
            }
            crate::watch::consul::pace(Some(round), WAIT_ROUND.min(left)).await;
            result = read(settings, &opts.clusters).await;
            let now = keys(&result.findings);
            for (kind, place) in now.difference(&shown) {
                println!("{:>6.1}s + {kind} {place}", started.elapsed().as_secs_f64());
            }
            for (kind, place) in shown.difference(&now) {
                println!(
                    "{:>6.1}s - {kind} {place} (resolved)",
                    started.elapsed().as_secs_f64()
                );
            }
            shown = now;
        }
        let at = started.elapsed().as_secs_f64();
        match (opts.exit_code(&result), opts.follow_only) {
            (0, true) => println!("{at:>6.1}s every registration follows"),
            (0, false) => println!("{at:>6.1}s nothing at or above {} is left", opts.fail_on),
            (_, true) => println!(
                "{at:>6.1}s still not known to follow after {:.0}s",
                wait.as_secs_f64()
            ),
            (_, false) => println!("{at:>6.1}s still drifting after {:.0}s", wait.as_secs_f64()),
        }
    }
    let mut text = result.render(opts.format);
    let verdicts = if opts.follow_only {
        opts.answer(&result).lines
    } else {
        Vec::new()
    };
    if opts.format == Format::Table {
        for line in &verdicts {
            text.push_str(line);
            text.push('\n');
        }
    } else {
        // Other formats are parsed; the verdict goes beside them.
        for line in &verdicts {
            eprintln!("roster: {line}");
        }
    }
    // The last stop before the terminal: no secret, and in JSON no raw bidi or C1 control.
    let text = match opts.format {
        Format::Json => crate::text::json_safe(&text),
        _ => crate::text::scrub(&text).into_owned(),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    let code = u8::try_from(opts.exit_code(&result)).unwrap_or(2);
    // The process ends right after: freeing a large fleet one observation at a time
    // would only delay the exit.
    std::mem::forget(result);
    code
}

async fn read(settings: &Settings, clusters: &[String]) -> CheckResult {
    let g = gather(settings).await;
    let mut r = CheckResult::new(g.fleet, g.notes);
    r.only_clusters(clusters);
    r
}

fn keys(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| {
            let place = f.instance.clone().unwrap_or_else(|| f.cluster.clone());
            let source = f
                .sources
                .keys()
                .filter(|k| *k != "live")
                .cloned()
                .collect::<Vec<_>>()
                .join(",");
            let place = crate::text::sanitize(&place, 120);
            (f.kind.code().to_string(), format!("{place} [{source}]"))
        })
        .collect()
}

fn print_state(started: Instant, r: &CheckResult, opts: &CheckOptions) {
    let what = if opts.follow_only {
        "waiting for every registration to follow the live roles".to_string()
    } else {
        format!("waiting until nothing at or above {} is left", opts.fail_on)
    };
    println!(
        "{:>6.1}s {} finding(s); {what}",
        started.elapsed().as_secs_f64(),
        r.findings.len()
    );
    for (kind, place) in keys(&r.findings) {
        println!("{:>6.1}s   {kind} {place}", started.elapsed().as_secs_f64());
    }
}

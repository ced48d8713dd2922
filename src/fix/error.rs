//! Why a repair could not be planned or applied, with the place (URL, command) in the message.

use crate::consul::ConsulError;
use thiserror::Error;

/// Everything that can stop a fix writer.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FixError {
    /// Consul refused or could not be reached; the message names the URL and Consul's words.
    #[error("{0}")]
    Consul(#[from] ConsulError),
    /// The agent asked does not hold the service the plan wants to rewrite.
    #[error("service ID {service_id:?} is not registered with the agent at {agent}")]
    MissingService {
        /// The agent asked (its address names the node).
        agent: String,
        /// The service ID looked for.
        service_id: String,
    },
    /// An address or command template cannot be used.
    #[error("template {template:?}: {reason}")]
    Template {
        /// The template as configured.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value cannot be put into a template safely (control characters, shell syntax).
    #[error("{placeholder} value {value:?} cannot be used: {reason}")]
    BadValue {
        /// The placeholder, with braces.
        placeholder: String,
        /// The offending value, made safe to print.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The command could not be started at all.
    #[error("cannot run {program:?}: {reason}")]
    CommandSpawn {
        /// The program (first word of the command).
        program: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The command ran and reported failure.
    #[error("{program:?} failed ({status}){}", excerpt(.output))]
    CommandFailed {
        /// The program (first word of the command).
        program: String,
        /// How it ended (`exit status 1`, `killed by signal 9`).
        status: String,
        /// The end of what it printed, for the message.
        output: String,
    },
    /// The command ran longer than allowed and was killed.
    #[error("{program:?} did not finish within {secs:.1}s and was killed{}", excerpt(.output))]
    CommandTimedOut {
        /// The program (first word of the command).
        program: String,
        /// The limit that ran out.
        secs: f64,
        /// The end of what it printed before it was killed.
        output: String,
    },
    /// The write would do something roster will not do (the reason says what and why).
    #[error("{0}")]
    Refused(String),
}

fn excerpt(output: &str) -> String {
    let t = output.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!(": {t}")
    }
}

impl FixError {
    /// The HTTP status, when Consul answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            FixError::Consul(e) => e.status(),
            _ => None,
        }
    }

    /// True when nothing answered (refused, dropped, timed out): for an agent, the sign
    /// that the node has no running agent and only the catalog can be written.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            FixError::Consul(
                ConsulError::Connect { .. }
                    | ConsulError::Timeout { .. }
                    | ConsulError::Body { .. }
            )
        )
    }
}

//! Go's spellings of durations and booleans, as Consul, its CLI and Prometheus write them.
//!
//! Consul's query parameters (`?wait=`), its CLI's environment variables and roster's own
//! flags all follow Go's `time.ParseDuration` and `strconv.ParseBool`; one parser of each
//! keeps them reading the same text the same way.

use std::time::Duration;

/// Parses a boolean the way Go's `strconv.ParseBool` does.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses a duration the way Go's `time.ParseDuration` does (`1s`, `120000ms`, `1m30.5s`),
/// with a message that says what is wrong.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.strip_prefix('+').unwrap_or(raw);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.starts_with('-') {
        return Err(format!("{raw:?} is negative"));
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return Err(format!(
                "{raw:?} is not a duration (e.g. 500ms, 10s, 1m30s)"
            ));
        }
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{raw:?} is not a duration"))?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("{raw:?} needs a unit (ms, s, m, h)")),
            u => return Err(format!("{raw:?}: unknown unit {u:?} (use ms, s, m, h)")),
        };
        total += value * nanos;
        rest = tail;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(format!("{raw:?} is out of range"));
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_reads_them() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("120000ms"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("+2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "10", "5d", "-1s", "s", ".s", "1x", "1e9s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
    }

    #[test]
    fn booleans_as_go_reads_them() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("T"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}

//! Copying to the user's clipboard through the terminal (OSC 52), which works over ssh and
//! inside tmux, and the text that `y` copies.

use crate::drift::Primaries;
use crate::encoding::base64;
use crate::text::sanitize;
use crate::tui::state::{RoleCell, Row, State};

/// The escape sequence that asks the terminal to put `text` on the clipboard.
///
/// With `tmux` (the `TMUX` variable is set) the sequence is sent twice: plain, which tmux
/// itself takes with `set-clipboard on` (and hands on to the terminal outside), and
/// wrapped for passthrough (`ESC P tmux; … ESC \`, its escape characters doubled), which
/// reaches the outside terminal only with `allow-passthrough on` (tmux 3.3 and later).
/// tmux drops whichever form its settings do not allow, so either setting alone works.
pub fn osc52(text: &str, tmux: bool) -> String {
    let plain = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    if tmux {
        let wrapped = format!("\x1bPtmux;{}\x1b\\", plain.replace('\x1b', "\x1b\x1b"));
        format!("{plain}{wrapped}")
    } else {
        plain
    }
}

/// Remote text as one clipboard-safe word: control characters and spaces would make the
/// pasted line ambiguous or dangerous in a shell.
fn word(text: &str) -> String {
    sanitize(text, 200).replace(' ', "_")
}

/// The identity of the selection as one line: for an instance (or one of its records) its
/// cluster, name, seq, address, each source's role and the findings; for a cluster its
/// name, its primary (each place's when they differ), whether the registrations follow
/// the live roles (with `--live`) and its members. `None` when nothing is selected.
pub fn selection_text(state: &State) -> Option<String> {
    match state.selected_row()? {
        Row::Datacenter(d) => {
            let dc = state.datacenters.get(d)?;
            let clusters: Vec<String> = dc
                .clusters
                .iter()
                .filter_map(|&c| state.result.fleet.clusters.get(c))
                .map(|c| word(&c.name))
                .collect();
            Some(format!(
                "datacenter={} findings={} clusters={}",
                dc.name.as_deref().map_or("none".into(), word),
                dc.findings.len(),
                clusters.join(",")
            ))
        }
        Row::Cluster(c) => {
            let cluster = state.result.fleet.clusters.get(c)?;
            let info = state.clusters.get(c)?;
            let members: Vec<String> = cluster.instances.iter().map(|i| word(&i.name)).collect();
            let mut out = format!("cluster={}", word(&cluster.name));
            // One name can be in two datacenters: the copy says which.
            if !state.datacenters.is_empty()
                && let Some(dc) = &cluster.datacenter
            {
                out.push_str(&format!(" datacenter={}", word(dc)));
            }
            out.push_str(&primaries_text(&info.primaries));
            if let Some(f) = &info.follows {
                out.push_str(&format!(" follows={}", f.word()));
            }
            out.push_str(&format!(" members={}", members.join(",")));
            Some(out)
        }
        Row::Instance(i) | Row::Entry(i, _) => instance_text(state, i),
    }
}

/// ` primary=NAME` when every place that can say agrees; otherwise ` primary=disputed`
/// (or `none`) and each place's own answer, so the copy never picks one side.
fn primaries_text(p: &Primaries) -> String {
    if let Some(name) = p.agreed() {
        return format!(" primary={}", word(name));
    }
    let mut out = match (p.disputed(), p.known()) {
        (true, _) => " primary=disputed".to_string(),
        (false, true) => " primary=none".to_string(),
        (false, false) => " primary=unknown".to_string(),
    };
    for (kind, named) in &p.places {
        let said = match named {
            None => "unknown".to_string(),
            Some(names) if names.is_empty() => "none".to_string(),
            Some(names) => names.iter().map(|n| word(n)).collect::<Vec<_>>().join(","),
        };
        out.push_str(&format!(" primary({})={said}", kind.name()));
    }
    out
}

fn instance_text(state: &State, i: usize) -> Option<String> {
    let info = state.instances.get(i)?;
    let inst = state.instance(i)?;
    let mut out = format!(
        "cluster={} instance={}",
        word(&inst.cluster),
        word(&inst.name)
    );
    let seq = match &inst.id {
        crate::fleet::InstanceId::Seq(n) => Some(*n),
        _ => inst.observations.iter().find_map(|o| o.seq),
    };
    if let Some(seq) = seq {
        out.push_str(&format!(" seq={seq}"));
    }
    let ip = inst.display_ip();
    out.push_str(&format!(
        " ip={}",
        ip.map(word).unwrap_or_else(|| "-".into())
    ));
    for (kind, cell) in state.columns.iter().zip(&info.roles) {
        let role = match cell {
            RoleCell::Absent => "absent".to_string(),
            RoleCell::NotRead => "not-read".to_string(),
            RoleCell::NoRole => "none".to_string(),
            RoleCell::One(r) => word(r.as_str()),
            RoleCell::Split(r) => format!("{}(split)", word(r.as_str())),
        };
        out.push_str(&format!(" role({})={role}", kind.name()));
    }
    // A source that disagrees on the address is the interesting part of the identity.
    for &kind in &state.columns {
        if let Some(other) = inst.ip(kind)
            && Some(other) != ip
        {
            out.push_str(&format!(" ip({})={}", kind.name(), word(other)));
        }
    }
    if let Some(h) = &info.health {
        out.push_str(&format!(" health={}", word(h)));
    }
    let mut kinds: Vec<&str> = info
        .findings
        .iter()
        .filter_map(|&f| state.findings().get(f))
        .map(|f| f.kind.code())
        .collect();
    kinds.dedup();
    if !kinds.is_empty() {
        out.push_str(&format!(" drift={}", kinds.join(",")));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_plain_and_tmux() {
        assert_eq!(osc52("foo", false), "\x1b]52;c;Zm9v\x07");
        assert_eq!(
            osc52("foo", true).as_bytes(),
            b"\x1b]52;c;Zm9v\x07\x1bPtmux;\x1b\x1b]52;c;Zm9v\x07\x1b\\"
        );
        assert_eq!(osc52("", false), "\x1b]52;c;\x07");
        // The wrapped half, its escapes undoubled, is the plain sequence again.
        let text = "cluster=pg-test primary=pg-test-2";
        let (plain, tmux) = (osc52(text, false), osc52(text, true));
        let wrapped = tmux.strip_prefix(plain.as_str()).unwrap_or_default();
        let inner = wrapped
            .strip_prefix("\x1bPtmux;")
            .and_then(|w| w.strip_suffix("\x1b\\"))
            .unwrap_or_default();
        assert_eq!(inner.replace("\x1b\x1b", "\x1b"), plain);
    }

    #[test]
    fn the_payload_never_carries_raw_control_characters() {
        let seq = osc52("evil\x1b]0;title\x07", false);
        let payload = &seq["\x1b]52;c;".len()..seq.len() - 1];
        assert!(
            payload
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
        );
    }

    #[test]
    fn a_disputed_primary_is_copied_with_each_place_s_answer() {
        use crate::observation::SourceKind;
        let names = |n: &[&str]| Some(n.iter().map(|s| s.to_string()).collect());
        let p = Primaries {
            places: vec![
                (SourceKind::Consul, names(&["pg-test-1", "pg-test-2"])),
                (SourceKind::Targets, names(&["pg-test-1"])),
                (SourceKind::Inventory, names(&[])),
                (SourceKind::Live, None),
            ],
        };
        assert_eq!(
            primaries_text(&p),
            " primary=disputed primary(consul)=pg-test-1,pg-test-2 primary(targets)=pg-test-1 \
             primary(inventory)=none primary(live)=unknown"
        );
        let agreed = Primaries {
            places: vec![
                (SourceKind::Consul, names(&["pg-test-2"])),
                (SourceKind::Live, names(&["pg-test-2"])),
            ],
        };
        assert_eq!(primaries_text(&agreed), " primary=pg-test-2");
        assert_eq!(primaries_text(&Primaries::default()), " primary=unknown");
    }

    #[test]
    fn words_lose_spaces_and_control_characters() {
        assert_eq!(word("a b\x1bc"), "a_b?c");
    }
}

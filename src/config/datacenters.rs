//! Several datacenters: which ones are read (`--all-datacenters`, `[consul] datacenters`)
//! and what belongs to each (`[datacenter.NAME]`: its target files, its inventory, the
//! datacenter it holds standby clusters of).
//!
//! ```toml
//! [consul]
//! datacenters = "all"            # or ["dc1", "dc2"], nearest first
//!
//! [datacenter.dc2]
//! targets = ["/etc/prometheus/targets-dc2"]
//! inventory = "/etc/pigsty/pigsty-dc2.yml"
//! standby_of = "dc1"             # or a list: its clusters named as dc1's are standbys
//! ```

use super::ConfigError;
use crate::fleet::Datacenter;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[consul] datacenters`: `"all"` or a list of names.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FileDatacenters {
    /// `"all"`: every datacenter `/v1/catalog/datacenters` lists.
    Word(String),
    /// These datacenters, nearest first.
    List(Vec<String>),
}

/// One name or several (`standby_of = "dc1"` or `["dc1", "dc3"]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One name.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `[datacenter.NAME]` in the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDatacenter {
    /// Target files of this datacenter only (directories, files or globs).
    pub targets: Option<Vec<String>>,
    /// The inventory of this datacenter only.
    pub inventory: Option<PathBuf>,
    /// The datacenter(s) whose clusters this one holds standbys of.
    pub standby_of: Option<OneOrMany>,
}

/// What one datacenter has of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatacenterFiles {
    /// Its target files.
    pub targets: Vec<String>,
    /// Its inventory.
    pub inventory: Option<PathBuf>,
    /// The datacenters it holds standby clusters of.
    pub standby_of: Vec<String>,
}

/// Several datacenters, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatacenterSettings {
    /// The datacenters to read, nearest first; empty: every one Consul lists.
    pub names: Vec<String>,
    /// What each datacenter has of its own, by name.
    pub each: BTreeMap<String, DatacenterFiles>,
}

impl DatacenterSettings {
    /// The datacenters as the fleet knows them, in this order, with their standby pairs.
    pub fn describe(&self, names: &[String]) -> Vec<Datacenter> {
        names
            .iter()
            .map(|n| Datacenter {
                name: n.clone(),
                standby_of: self
                    .each
                    .get(n)
                    .map(|f| f.standby_of.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// Several datacenters when the flag or the file asks for them; `--dc` (one datacenter)
/// outranks the file's list.
pub fn resolve(
    all_flag: bool,
    dc_flag: bool,
    file_list: Option<FileDatacenters>,
    sections: Option<BTreeMap<String, FileDatacenter>>,
) -> Result<Option<DatacenterSettings>, ConfigError> {
    let bad = |reason: String| ConfigError::File {
        path: PathBuf::from("[consul] datacenters"),
        reason,
    };
    let names = if all_flag {
        Some(Vec::new())
    } else if dc_flag {
        None
    } else {
        match file_list {
            None => None,
            Some(FileDatacenters::Word(w)) if w == "all" => Some(Vec::new()),
            Some(FileDatacenters::Word(w)) => {
                return Err(bad(format!(
                    "{w:?} is neither \"all\" nor a list of datacenter names"
                )));
            }
            Some(FileDatacenters::List(v)) if v.is_empty() || v.iter().any(String::is_empty) => {
                return Err(bad("the list names no datacenter, or an empty one".into()));
            }
            Some(FileDatacenters::List(v)) => Some(v),
        }
    };
    let Some(names) = names else {
        return Ok(None);
    };
    let each = sections
        .unwrap_or_default()
        .into_iter()
        .map(|(name, f)| {
            let files = DatacenterFiles {
                targets: f.targets.unwrap_or_default(),
                inventory: f.inventory,
                standby_of: f.standby_of.map(OneOrMany::into_vec).unwrap_or_default(),
            };
            (name, files)
        })
        .collect();
    Ok(Some(DatacenterSettings { names, each }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileConfig, SourceArgs, resolve as resolve_settings};

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_file_names_all_a_list_or_nothing() {
        let f = parse("[consul]\ndatacenters = \"all\"\n");
        let c = f.consul.unwrap();
        let s = resolve(false, false, c.datacenters, None).unwrap().unwrap();
        assert!(s.names.is_empty());
        let f = parse("[consul]\ndatacenters = [\"dc1\", \"dc2\"]\n");
        let s = resolve(false, false, f.consul.unwrap().datacenters, None)
            .unwrap()
            .unwrap();
        assert_eq!(s.names, ["dc1", "dc2"]);
        assert_eq!(resolve(false, false, None, None).unwrap(), None);
        let word = Some(FileDatacenters::Word("every".into()));
        let e = resolve(false, false, word, None).unwrap_err();
        assert!(e.to_string().contains("\"every\""), "{e}");
        assert!(resolve(false, false, Some(FileDatacenters::List(vec![])), None).is_err());
        // --dc asks for one datacenter: it outranks the file; --all-datacenters, the same.
        let list = Some(FileDatacenters::List(vec!["dc1".into()]));
        assert_eq!(resolve(false, true, list.clone(), None).unwrap(), None);
        assert!(
            resolve(true, false, list, None)
                .unwrap()
                .unwrap()
                .names
                .is_empty()
        );
    }

    #[test]
    fn sections_give_each_datacenter_its_files_and_pairs() {
        let f = parse(
            "[consul]\ndatacenters = \"all\"\n[datacenter.dc2]\ntargets = [\"/t2\"]\ninventory = \"/i2.yml\"\nstandby_of = \"dc1\"\n[datacenter.dc3]\nstandby_of = [\"dc1\", \"dc2\"]\n",
        );
        let s = resolve(false, false, f.consul.unwrap().datacenters, f.datacenter)
            .unwrap()
            .unwrap();
        assert_eq!(s.each["dc2"].targets, ["/t2"]);
        assert_eq!(s.each["dc2"].inventory, Some(PathBuf::from("/i2.yml")));
        assert_eq!(s.each["dc3"].standby_of, ["dc1", "dc2"]);
        let d = s.describe(&["dc1".into(), "dc2".into()]);
        assert_eq!(d[0].standby_of, Vec::<String>::new());
        assert_eq!(d[1].standby_of, ["dc1"]);
        assert!(toml::from_str::<FileConfig>("[datacenter.dc2]\ntarget = []\n").is_err());
    }

    #[test]
    fn the_flag_reads_every_datacenter() {
        let dir = tempfile::tempdir().unwrap();
        let env = |k: &str| (k == "HOME").then(|| dir.path().display().to_string());
        let args = SourceArgs {
            consul: Some("127.0.0.1:8500".into()),
            all_datacenters: true,
            ..SourceArgs::default()
        };
        let s = resolve_settings(&args, &env).unwrap();
        assert_eq!(s.datacenters.unwrap().names, Vec::<String>::new());
        // Without Consul there is nothing to list datacenters with.
        let args = SourceArgs {
            no_consul: true,
            inventory: Some("i.yml".into()),
            all_datacenters: true,
            ..SourceArgs::default()
        };
        let s = resolve_settings(&args, &env).unwrap();
        assert!(s.datacenters.is_none());
        assert!(
            s.notes.iter().any(|n| n.contains("datacenters")),
            "{:?}",
            s.notes
        );
    }
}

//! What each loop of a watch last learned, summed up for the status line.
//!
//! A loop's error lasts exactly until that loop answers again, so one service's old
//! error cannot outlive its recovery and another loop's success cannot hide it; a loop
//! that must re-read without an index (after a refresh or an index that went
//! backwards) leaves the watch unconfirmed until it has.

use std::collections::{BTreeMap, BTreeSet};

/// One loop's standing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopState {
    /// Its last read answered and nothing has put the answer in doubt since.
    Confirmed,
    /// Its data is the last it read, but it is re-reading without an index to be sure.
    Confirming,
    /// Its last read failed with this error; its data is from before.
    Failed(String),
}

/// The state of every loop of one watch, by key (`catalog` or a service name).
#[derive(Clone, Debug, Default)]
pub struct Loops {
    states: BTreeMap<String, LoopState>,
}

/// The watch as a whole, as the status line shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The errors worth showing: the catalog loop's first, then a few distinct others,
    /// then how many loops fail in all when that is more than shown.
    pub errors: Vec<String>,
    /// How many loops are failing.
    pub failing: usize,
    /// How many loops are re-reading without an index.
    pub confirming: usize,
}

impl Summary {
    /// Every loop has answered and none is in doubt.
    pub fn confirmed(&self) -> bool {
        self.failing == 0 && self.confirming == 0
    }
}

/// The key of the loop on `catalog/services`; its error is shown first.
pub const CATALOG: &str = "catalog";

impl Loops {
    /// Records an answer; true when that changes what the watch says.
    pub fn answered(&mut self, key: &str) -> bool {
        self.set(key, LoopState::Confirmed)
    }

    /// Records a failure; true when that changes what the watch says.
    pub fn failed(&mut self, key: &str, error: String) -> bool {
        self.set(key, LoopState::Failed(error))
    }

    /// Puts a loop's data in doubt until its next answer. A failing loop stays failing:
    /// its error is still the latest news about it.
    pub fn confirming(&mut self, key: &str) -> bool {
        match self.states.get(key) {
            Some(LoopState::Failed(_)) => false,
            _ => self.set(key, LoopState::Confirming),
        }
    }

    /// Forgets a loop whose service went away.
    pub fn forget(&mut self, key: &str) -> bool {
        self.states.remove(key).is_some()
    }

    /// A loop's standing, if it has one.
    pub fn get(&self, key: &str) -> Option<&LoopState> {
        self.states.get(key)
    }

    fn set(&mut self, key: &str, state: LoopState) -> bool {
        match self.states.get_mut(key) {
            Some(s) if *s == state => false,
            Some(s) => {
                *s = state;
                true
            }
            None => {
                // A new loop that answered says nothing new: the watch was fine before it.
                let news = state != LoopState::Confirmed;
                self.states.insert(key.to_string(), state);
                news
            }
        }
    }

    /// The whole watch in a few words.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        if let Some(LoopState::Failed(e)) = self.states.get(CATALOG) {
            summary.errors.push(e.clone());
        }
        // Many services usually fail for one reason: a few distinct messages say it.
        let mut others: BTreeSet<&String> = BTreeSet::new();
        for (key, state) in &self.states {
            match state {
                LoopState::Confirmed => {}
                LoopState::Confirming => summary.confirming += 1,
                LoopState::Failed(e) => {
                    summary.failing += 1;
                    if key != CATALOG
                        && others.len() < 3
                        && !summary.errors.contains(e)
                        && others.insert(e)
                    {
                        summary.errors.push(e.clone());
                    }
                }
            }
        }
        if summary.failing > summary.errors.len() {
            summary
                .errors
                .push(format!("{} Consul reads failing in all", summary.failing));
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_lasts_until_its_own_loop_answers() {
        let mut loops = Loops::default();
        assert!(!loops.answered("postgres"), "a first answer is no news");
        assert!(loops.failed("postgres", "cannot reach Consul".into()));
        assert!(!loops.failed("postgres", "cannot reach Consul".into()));
        // Another loop's success is not this loop's recovery.
        loops.answered("patroni");
        assert_eq!(loops.summary().errors, ["cannot reach Consul"]);
        assert!(!loops.summary().confirmed());
        // Its own answer, later than its error, clears it.
        assert!(loops.answered("postgres"));
        assert_eq!(loops.summary(), Summary::default());
        assert!(loops.summary().confirmed());
    }

    #[test]
    fn a_loop_in_doubt_is_not_confirmed_until_it_answers() {
        let mut loops = Loops::default();
        loops.answered(CATALOG);
        loops.answered("postgres");
        assert!(loops.confirming(CATALOG));
        assert!(loops.confirming("postgres"));
        let s = loops.summary();
        assert_eq!((s.confirming, s.failing), (2, 0));
        assert!(s.errors.is_empty() && !s.confirmed());
        loops.answered(CATALOG);
        assert!(!loops.summary().confirmed(), "one loop is still re-reading");
        loops.answered("postgres");
        assert!(loops.summary().confirmed());
    }

    #[test]
    fn doubt_does_not_hide_a_failure() {
        let mut loops = Loops::default();
        loops.failed("postgres", "500 No cluster leader".into());
        assert!(!loops.confirming("postgres"));
        assert_eq!(loops.summary().errors, ["500 No cluster leader"]);
    }

    #[test]
    fn the_catalog_error_comes_first_and_the_rest_are_counted() {
        let mut loops = Loops::default();
        for (n, name) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            loops.failed(name, format!("error {n}"));
        }
        loops.failed("g", "error 0".into());
        loops.failed(CATALOG, "catalog down".into());
        let s = loops.summary();
        assert_eq!(s.failing, 8);
        assert_eq!(s.errors[0], "catalog down");
        assert_eq!(s.errors.len(), 5, "{:?}", s.errors);
        assert_eq!(s.errors[4], "8 Consul reads failing in all");
        assert!(loops.forget("a"));
        assert!(!loops.forget("a"));
    }
}

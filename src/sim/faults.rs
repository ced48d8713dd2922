//! Faults the simulator can inject at runtime, so clients' error paths can be tested.

use super::catalog::Catalog;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What to do with the next request(s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with this plain-text body.
    Status(u16, String),
    /// Answer normally but cut the JSON body in half (still 200).
    Truncate,
    /// Close the connection without answering.
    Drop,
}

#[derive(Debug, Default)]
struct State {
    latency: Duration,
    queue: Vec<(u32, Fault)>,
}

/// A runtime-settable fault plan shared with the server (cheap to clone).
#[derive(Clone, Debug)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    catalog: Catalog,
}

impl Faults {
    /// A fault plan with nothing planned, able to reset `catalog`'s index.
    pub fn new(catalog: Catalog) -> Faults {
        Faults {
            state: Arc::default(),
            catalog,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delays every request by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Answers the next `n` requests with `status` and the plain-text `body`.
    pub fn fail_next(&self, n: u32, status: u16, body: &str) {
        self.push(n, Fault::Status(status, body.to_string()));
    }

    /// Truncates the JSON body of the next `n` successful reads.
    pub fn truncate_next(&self, n: u32) {
        self.push(n, Fault::Truncate);
    }

    /// Drops the connection of the next `n` requests without answering.
    pub fn drop_next(&self, n: u32) {
        self.push(n, Fault::Drop);
    }

    /// Resets the catalog's index to 1 (as after a snapshot restore).
    pub fn reset_index(&self) {
        self.catalog.reset_index();
    }

    /// Removes every planned fault and the latency.
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    fn push(&self, n: u32, f: Fault) {
        if n > 0 {
            self.lock().queue.push((n, f));
        }
    }

    /// The latency to add and the fault (if any) this request gets; consumes one use.
    pub(crate) fn take(&self) -> (Duration, Option<Fault>) {
        let mut st = self.lock();
        let latency = st.latency;
        let fault = match st.queue.first_mut() {
            Some((left, f)) => {
                let f = f.clone();
                *left -= 1;
                if *left == 0 {
                    st.queue.remove(0);
                }
                Some(f)
            }
            None => None,
        };
        (latency, fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order() {
        let f = Faults::new(Catalog::new("dc1"));
        f.fail_next(2, 500, "boom");
        f.drop_next(1);
        assert_eq!(f.take().1, Some(Fault::Status(500, "boom".into())));
        assert_eq!(f.take().1, Some(Fault::Status(500, "boom".into())));
        assert_eq!(f.take().1, Some(Fault::Drop));
        assert_eq!(f.take().1, None);
        f.set_latency(Duration::from_millis(5));
        f.truncate_next(1);
        f.clear();
        assert_eq!(f.take(), (Duration::ZERO, None));
    }
}

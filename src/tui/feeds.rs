//! The UI's live data: the shared feeds of [`crate::watch::feeds`], driven by the UI loop
//! (`runtime.rs`) exactly as `roster serve` drives them.

pub use crate::watch::feeds::{Live, LiveEvent};

//! The interactive terminal UI: a pure reducer over one [`state::State`] and pure rendering.
//!
//! The event loop ([`runtime::run`]) turns terminal events into [`action::Action`]s with
//! [`keys::map`] and [`mouse::map_mouse`], feeds them to [`update::update`], runs the
//! returned effects, and draws with [`view::draw`].
//!
//! Dependencies point one way, so each layer can be read and tested on its own:
//! - leaves, which name no other UI module but [`vocab`]: [`vocab`], [`layout`] (pane
//!   geometry), [`theme`], [`filter`], [`command`], [`keyname`], [`action`], and the
//!   outside-world helpers [`feeds`], [`demo_data`] and [`fixer`] (on [`action`]);
//! - [`keymap`] (the binding table) on [`action`] and [`keyname`];
//! - [`state`] on the leaves and [`keymap`]; [`clipboard`] (what `y` copies) on [`state`];
//! - [`update`] (the reducer), [`keys`] and [`mouse`] (input), [`view`] (drawing) on
//!   [`state`] and the layers below it, never on each other;
//! - [`runtime`] on all of them.

pub mod action;
pub mod clipboard;
pub mod command;
pub mod demo_data;
pub mod feeds;
pub mod filter;
pub mod fix_words;
pub mod fixer;
pub mod keymap;
pub mod keyname;
pub mod keys;
pub mod layout;
pub mod mouse;
pub mod runtime;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;
pub mod vocab;

#[cfg(test)]
mod screen_tests;
#[cfg(test)]
mod screen_tests_dc;
#[cfg(test)]
mod screen_tests_fix;
#[cfg(test)]
mod screen_tests_oncall;
#[cfg(test)]
mod testdata;

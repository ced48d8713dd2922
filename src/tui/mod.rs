//! The interactive terminal UI: a pure reducer over one [`state::State`] and pure rendering.
//!
//! The event loop ([`runtime::run`]) turns terminal events into [`action::Action`]s with
//! [`keys::map`] and [`keys::map_mouse`], feeds them to [`update::update`], runs the
//! returned effects, and draws with [`view::draw`].

pub mod action;
pub mod clipboard;
pub mod command;
pub mod demo_data;
pub mod feeds;
pub mod filter;
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
mod testdata;

//! The console: a live, keyboard-driven view of the inventory, the refresh jobs and the
//! ledger. `update` and `render` are pure; the runtime does all I/O in spawned tasks.

pub mod activity;
pub mod bench;
#[cfg(test)]
pub(crate) mod bench_tests;
mod command_line;
#[cfg(test)]
mod fixture;
pub mod in_flight;
mod jobs;
pub mod keymap;
pub mod layout;
pub mod locks;
pub mod msg;
pub mod pg_cron;
mod polling;
#[cfg(test)]
mod read_only_tests;
pub mod runtime;
pub mod schedules;
mod schedules_io;
mod sessions_io;
#[cfg(test)]
pub(crate) mod sessions_tests;
pub mod state;
pub mod terminal;
pub mod ui;
pub mod update;
#[cfg(test)]
mod update_tests;
mod views;
mod visible;

pub use runtime::{ConsoleOptions, run};

//! The console: a live, keyboard-driven view of the inventory, the refresh jobs and the
//! ledger. `update` and `render` are pure; `io/` does all I/O in spawned tasks.

pub mod activity;
pub mod bench;
pub mod columns;
mod command_line;
pub mod hit;
pub mod in_flight;
pub mod io;
mod jobs;
pub mod keymap;
pub mod layout;
pub mod locks;
pub mod mouse;
pub mod msg;
pub mod pg_cron;
mod polling;
pub mod runtime;
pub mod schedules;
pub mod state;
pub mod terminal;
#[cfg(test)]
mod tests;
pub mod ui;
pub mod update;
mod views;
mod visible;

pub use runtime::{ConsoleOptions, run};

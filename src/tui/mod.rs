//! The console: a live, keyboard-driven view of the inventory, the refresh jobs and the
//! ledger. `update` and `render` are pure; the runtime does all I/O in spawned tasks.

pub mod keymap;
pub mod msg;
pub mod runtime;
pub mod state;
pub mod terminal;
pub mod ui;
pub mod update;

pub use runtime::{ConsoleOptions, run};

//! mvtop: a terminal operations console for PostgreSQL materialized views.
//!
//! The binary is a thin shell over this library, so the integration tests reach the same code.

pub mod bench;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod event_log;
pub mod format;
pub mod inventory;
pub mod ledger;
pub mod metrics;
pub mod pgconn;
pub mod pgcron;
pub mod refresh;
pub mod schedule;
pub mod tui;

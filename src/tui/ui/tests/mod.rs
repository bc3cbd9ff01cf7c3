//! The screens as a user sees them, at 80x24 and 120x40, compared with the insta snapshots
//! in `snapshots/` (named after these modules): the views, detail, schedules and overlays
//! (`screens.rs`), the benchmark (`bench.rs`), the locks and activity panes (`sessions.rs`).

mod bench;
mod cost;
mod screens;
mod sessions;

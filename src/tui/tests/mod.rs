//! The console's unit tests, out of the production files: `update` message by message
//! (`update.rs`), the session panes (`sessions.rs`), the benchmark flow (`bench.rs`),
//! `--read-only` (`read_only.rs`), and the fixed state they and the snapshots start from
//! (`fixture.rs`). The snapshots are in `ui/tests/`.

pub(super) mod bench;
pub(super) mod fixture;
mod read_only;
pub(super) mod sessions;
mod update;

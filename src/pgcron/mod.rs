//! pg_cron: the schedules DBAs already have. Finds pg_cron's database, reads its jobs and
//! their runs there (on a second session when mvtop shows another database), tells which
//! jobs refresh which MVs of the shown database, computes their next run with pg_cron's own
//! syntax and time zone, and creates, updates and removes the jobs mvtop hands to pg_cron.
//!
//! Layering: over `pgconn` and `catalog` (names, quoting); `ledger` holds the procedure the
//! jobs call; `cli` and `tui` read from here.

pub mod command;
mod entry;
pub mod expr;
pub mod hand_over;
pub mod jobs;
pub mod lexer;
pub mod locate;
pub mod next_run;
pub mod resolve;
pub mod runs;
pub mod submit;
pub mod view;

pub use hand_over::Engine;
pub use jobs::{CronJob, JobRefresh, Refreshes};
pub use locate::{Located, PgCron, Unavailable};
pub use runs::{CronRun, RunReader};
pub use view::{CronSchedule, CronView};

/// The ledger procedure mvtop's pg_cron jobs call (`assets/sql/ledger/004_pg_cron.sql`).
pub const LEDGER_PROCEDURE: &str = "pg_cron_refresh";

/// The `application_name` pg_cron's launcher reports (visible to every role).
pub const SCHEDULER_APPLICATION: &str = "pg_cron scheduler";

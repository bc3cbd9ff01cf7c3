//! The policy engine: when each MV should be refreshed (cron, interval, on change), pure
//! functions of the schedules, what was observed and the clock; schedules stored in the
//! ledger; and the driver that claims due runs and hands them to the refresh executor.

pub mod advise;
pub mod advise_cost;
pub mod changes;
pub mod cron;
mod dispatch;
pub mod driver;
pub mod due;
pub mod edit;
pub mod events;
pub mod next;
pub mod order;
pub mod policy;
pub mod store;
pub mod text;
mod world;

pub use due::{Decision, Observed, decide};
pub use events::{SchedulerEvent, SchedulerOptions};
pub use next::{NextRun, Upcoming, next_run};
pub use policy::{Policy, PolicyInput, Schedule, Window};

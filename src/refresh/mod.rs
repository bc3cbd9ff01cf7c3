//! The refresh engine: one implementation, used by the CLI, the console and the scheduler.

mod attempt;
pub mod blocked;
mod cost;
pub mod executor;
mod finish;
pub mod job;
pub mod lock;
pub mod plan;
pub mod statement;

pub use executor::{Executor, JobEvent, JobId};
pub use job::{CancelHandle, JobSpec, JobState, Limits, Outcome, OutcomeKind, Recorded, Source};
pub use statement::{Concurrently, Mode, Target, choose_mode, statement};

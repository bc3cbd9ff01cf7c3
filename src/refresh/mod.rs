//! The refresh engine: one implementation, used by the CLI, the console and the scheduler.

pub mod executor;
pub mod job;
pub mod plan;
pub mod statement;

pub use executor::{Executor, JobEvent, JobId};
pub use job::{CancelHandle, JobSpec, JobState, Limits, Outcome, OutcomeKind, Recorded, Source};
pub use statement::{Concurrently, Mode, Target, choose_mode, statement};

//! Ad hoc benchmark of a view against its materialized view: is the MV worth it?
//!
//! `runner` measures on the server; `stats` and `verdict` are pure functions of the
//! figures; `report` puts them together in the shape the CLI prints and the console draws.

pub mod measure;
pub mod report;
pub mod runner;
pub mod sql;
pub mod stats;
pub mod subject;
pub mod usage;
pub mod verdict;

pub use measure::{measure, measure_on_own_thread};
pub use report::{BenchReport, CaseReport, RefreshSource, assemble};
pub use runner::{BenchError, CaseRuns, Measurements, Options, Progress, RefreshPlan, run};
pub use stats::Summary;
pub use subject::{Kind, Subject, by_oid, resolve};
pub use usage::read_usage;
pub use verdict::{Usage, Verdict, VerdictKind};

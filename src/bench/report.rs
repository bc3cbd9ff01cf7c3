//! A benchmark's result: the figures per case, the conclusion, and its JSON contract.

use serde::Serialize;

use super::runner::{CaseRuns, Measurements};
use super::stats::Summary;
use super::subject::Subject;
use super::verdict::{Evidence, Usage, VerdictKind, judge, reads_per_refresh};

/// Where the refresh time of the verdict comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshSource {
    /// Refreshed during the benchmark (`--with-refresh`, or a plain view's temporary MV).
    Measured,
    /// The MV's recorded average (ledger, this session, or pg_stat_statements).
    History,
}

/// One case's figures. Durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseReport {
    pub name: &'static str,
    pub statement: String,
    pub client_ms: Summary,
    pub server_ms: Option<Summary>,
    pub rows: Option<i64>,
    pub bytes: Option<u64>,
    pub shared_hit_blocks: Option<i64>,
    pub shared_read_blocks: Option<i64>,
}

/// The JSON contract of `mvtop bench --format json`: later work adds fields, never renames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub target: Subject,
    pub runs: u32,
    pub warmup: u32,
    pub query: Option<String>,
    pub view_ms: Summary,
    pub mv_ms: Summary,
    pub refresh_ms: Option<Summary>,
    /// Plain views: creating the temporary MV.
    pub create_ms: Option<Summary>,
    /// The refresh time the verdict used, and where it came from.
    pub refresh_basis_ms: Option<f64>,
    pub refresh_basis: Option<RefreshSource>,
    pub cases: Vec<CaseReport>,
    pub usage: Option<Usage>,
    pub reads_per_refresh: Option<f64>,
    pub speedup: f64,
    pub break_even_reads_per_refresh: Option<f64>,
    pub verdict: String,
    pub verdict_kind: VerdictKind,
    pub uncertain: bool,
}

/// What the measurements mean. `history_refresh_ms`: the MV's recorded average refresh,
/// used when the benchmark did not refresh.
pub fn assemble(
    target: Subject,
    runs: u32,
    warmup: u32,
    query: Option<String>,
    m: &Measurements,
    usage: Option<Usage>,
    history_refresh_ms: Option<f64>,
) -> Option<BenchReport> {
    let view = case_report(&m.view)?;
    let mv = case_report(&m.mv)?;
    let refresh = m.refresh.as_ref().and_then(case_report);
    let create = m.create.as_ref().and_then(case_report);
    let (basis, basis_source) = match (&refresh, history_refresh_ms) {
        (Some(r), _) => (Some(r.client_ms), Some(RefreshSource::Measured)),
        (None, Some(ms)) => (Summary::of(&[ms]), Some(RefreshSource::History)),
        (None, None) => (None, None),
    };
    let reads = usage.as_ref().and_then(reads_per_refresh);
    let verdict = judge(&Evidence {
        view: view.client_ms,
        mv: mv.client_ms,
        refresh: basis,
        reads_per_refresh: reads,
    });
    let mut cases = vec![view.clone(), mv.clone()];
    cases.extend(refresh.clone());
    cases.extend(create.clone());
    Some(BenchReport {
        target,
        runs,
        warmup,
        query,
        view_ms: view.client_ms,
        mv_ms: mv.client_ms,
        refresh_ms: refresh.map(|r| r.client_ms),
        create_ms: create.map(|c| c.client_ms),
        refresh_basis_ms: basis.map(|b| b.median),
        refresh_basis: basis_source,
        cases,
        usage,
        reads_per_refresh: reads,
        speedup: verdict.speedup,
        break_even_reads_per_refresh: verdict.break_even_reads_per_refresh,
        verdict: verdict.sentence,
        verdict_kind: verdict.kind,
        uncertain: verdict.uncertain,
    })
}

fn case_report(c: &CaseRuns) -> Option<CaseReport> {
    Some(CaseReport {
        name: c.name,
        statement: c.statement.clone(),
        client_ms: Summary::of(&c.client_ms)?,
        server_ms: Summary::of(&c.server_ms),
        rows: c.rows,
        bytes: c.bytes,
        shared_hit_blocks: c.shared_hit,
        shared_read_blocks: c.shared_read,
    })
}

//! Without the ledger: this process's own runs, kept in memory with the same statistics,
//! so the console still shows what it refreshed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::cost::{CostRun, summarize};
use super::stats::LedgerStats;
use crate::catalog::StatsSource;
use crate::catalog::cost::{CostSummary, RunCost};

/// One run of this process.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRun {
    pub mv_oid: u32,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: Option<f64>,
    /// `ok`, `failed`, `cancelled` or `timed_out`.
    pub outcome: String,
    pub error: Option<String>,
    pub base_writes: Option<i64>,
    pub concurrently: bool,
    /// What it cost, as measured.
    pub cost: RunCost,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryLog {
    runs: Vec<MemoryRun>,
}

impl MemoryLog {
    pub fn record(&mut self, run: MemoryRun) {
        self.runs.push(run);
    }

    pub fn runs(&self) -> &[MemoryRun] {
        &self.runs
    }

    /// The same figures the ledger gives, from the runs kept here.
    pub fn stats(&self) -> HashMap<u32, LedgerStats> {
        let mut by_mv: HashMap<u32, Vec<&MemoryRun>> = HashMap::new();
        for run in &self.runs {
            by_mv.entry(run.mv_oid).or_default().push(run);
        }
        by_mv
            .into_iter()
            .map(|(oid, mut runs)| {
                runs.sort_by_key(|r| r.finished_at);
                (oid, stats_of(&runs))
            })
            .collect()
    }
}

impl MemoryLog {
    /// What the runs kept here cost, per MV, summarized as the ledger's are.
    pub fn cost_summaries(&self) -> HashMap<u32, CostSummary> {
        let mut by_mv: HashMap<u32, Vec<CostRun>> = HashMap::new();
        for run in &self.runs {
            by_mv.entry(run.mv_oid).or_default().push(CostRun {
                concurrently: run.concurrently,
                ok: run.outcome == "ok",
                started_at: run.finished_at,
                cost: run.cost.clone(),
            });
        }
        by_mv
            .into_iter()
            .filter_map(|(oid, runs)| Some((oid, summarize(runs, StatsSource::Session)?)))
            .collect()
    }
}

/// `runs` oldest first.
fn stats_of(runs: &[&MemoryRun]) -> LedgerStats {
    let ok: Vec<&&MemoryRun> = runs.iter().filter(|r| r.outcome == "ok").collect();
    let mut durations: Vec<f64> = ok.iter().filter_map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let avg =
        (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);
    let last = runs.last();
    LedgerStats {
        ok_count: ok.len() as i64,
        failures: (runs.len() - ok.len()) as i64,
        last_refresh: ok.last().map(|r| r.finished_at),
        last_ms: ok.last().and_then(|r| r.duration_ms),
        avg_ms: avg,
        p95_ms: percentile(&durations, 0.95),
        last_outcome: last.map(|r| r.outcome.clone()).unwrap_or_default(),
        last_error: runs
            .iter()
            .rev()
            .find(|r| r.outcome != "ok")
            .and_then(|r| r.error.clone()),
        base_writes: ok.last().and_then(|r| r.base_writes),
    }
}

/// Linear interpolation between closest ranks, as PostgreSQL's percentile_cont.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(oid: u32, secs: i64, ms: f64, outcome: &str) -> MemoryRun {
        MemoryRun {
            mv_oid: oid,
            finished_at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            duration_ms: Some(ms),
            outcome: outcome.into(),
            error: (outcome != "ok").then(|| "boom".to_string()),
            base_writes: None,
            concurrently: false,
            cost: RunCost::default(),
        }
    }

    #[test]
    fn stats_match_the_ledgers_definitions() {
        let mut log = MemoryLog::default();
        for (i, ms) in [100.0, 200.0, 300.0, 400.0].into_iter().enumerate() {
            log.record(run(7, i as i64, ms, "ok"));
        }
        log.record(run(7, 10, 50.0, "failed"));
        let s = &log.stats()[&7];
        assert_eq!((s.ok_count, s.failures), (4, 1));
        assert_eq!(s.avg_ms, Some(250.0));
        assert_eq!(s.last_ms, Some(400.0));
        assert!((s.p95_ms.unwrap() - 385.0).abs() < 1e-9);
        assert_eq!(s.last_outcome, "failed");
        assert_eq!(s.last_error.as_deref(), Some("boom"));
    }
}

//! What refreshes cost, per MV: the latest runs of each mode read from the ledger (or kept
//! in memory without one) and summarized by one function — the last run, the averages of
//! the last `RUNS_CONSIDERED`, plain against CONCURRENTLY — for `mvtop list`, the console,
//! the metrics and the advice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::Ledger;
use super::history::cost_of;
use crate::catalog::StatsSource;
use crate::catalog::cost::{CostSummary, RunCost};

const COST_RUNS_SQL: &str = include_str!("../../assets/sql/ledger/cost_runs.sql");

/// How many of the latest runs of each mode the averages are over.
pub const RUNS_CONSIDERED: usize = 10;

/// One recorded run, as the summary needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRun {
    pub concurrently: bool,
    pub ok: bool,
    pub started_at: DateTime<Utc>,
    pub cost: RunCost,
}

impl Ledger {
    /// The summaries of the MVs `oids` that have runs in the ledger.
    pub async fn cost_summaries(
        &self,
        client: &Client,
        oids: &[u32],
    ) -> Result<HashMap<u32, CostSummary>, tokio_postgres::Error> {
        let limit = RUNS_CONSIDERED as i64;
        let rows = client
            .query(&self.sql(COST_RUNS_SQL), &[&oids, &limit])
            .await?;
        let mut by_mv: HashMap<u32, Vec<CostRun>> = HashMap::new();
        for r in &rows {
            by_mv.entry(r.get("mv_oid")).or_default().push(CostRun {
                concurrently: r.get("concurrent"),
                ok: r.get::<_, String>("outcome") == "ok",
                started_at: r.get("started_at"),
                cost: cost_of(r),
            });
        }
        Ok(by_mv
            .into_iter()
            .filter_map(|(oid, runs)| Some((oid, summarize(runs, StatsSource::Ledger)?)))
            .collect())
    }
}

/// The summary of one MV's runs (in any order); None when there are none.
pub fn summarize(mut runs: Vec<CostRun>, source: StatsSource) -> Option<CostSummary> {
    if runs.is_empty() {
        return None;
    }
    runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    let ok: Vec<&CostRun> = runs.iter().filter(|r| r.ok).collect();
    let last = ok.first();
    let recent: Vec<&RunCost> = ok.iter().take(RUNS_CONSIDERED).map(|r| &r.cost).collect();
    let avg = |f: fn(&RunCost) -> Option<f64>, of: &[&RunCost]| -> (Option<f64>, usize) {
        let v: Vec<f64> = of.iter().filter_map(|c| f(c)).collect();
        let n = v.len();
        ((n > 0).then(|| v.iter().sum::<f64>() / n as f64), n)
    };
    let wal = |c: &RunCost| c.wal_bytes.map(|b| b as f64);
    let of_mode = |conc: bool| -> Vec<&RunCost> {
        ok.iter()
            .filter(|r| r.concurrently == conc)
            .take(RUNS_CONSIDERED)
            .map(|r| &r.cost)
            .collect()
    };
    let (plain_avg_wal_bytes, plain_wal_runs) = avg(wal, &of_mode(false));
    let (concurrently_avg_wal_bytes, concurrently_wal_runs) = avg(wal, &of_mode(true));
    let plain: Vec<&CostRun> = runs
        .iter()
        .filter(|r| !r.concurrently)
        .take(RUNS_CONSIDERED)
        .collect();
    Some(CostSummary {
        source,
        last: last.map(|r| r.cost.clone()),
        last_concurrently: last.map(|r| r.concurrently),
        runs_considered: recent.len(),
        avg_wal_bytes: avg(wal, &recent).0,
        avg_temp_bytes: avg(|c| c.temp_bytes.map(|b| b as f64), &recent).0,
        avg_shared_read_bytes: avg(|c| c.shared_read_bytes.map(|b| b as f64), &recent).0,
        avg_blocked_total_ms: avg(|c| c.blocked_total_ms, &recent).0,
        plain_avg_wal_bytes,
        plain_wal_runs,
        concurrently_avg_wal_bytes,
        concurrently_wal_runs,
        last_plain_blocked: plain.iter().find_map(|r| r.cost.blocked()),
        max_plain_blocked_total_ms: plain
            .iter()
            .filter_map(|r| r.cost.blocked_total_ms)
            .reduce(f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secs: i64, conc: bool, ok: bool, wal: Option<i64>, blocked: Option<f64>) -> CostRun {
        CostRun {
            concurrently: conc,
            ok,
            started_at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            cost: RunCost {
                wal_bytes: wal,
                blocked_sessions: blocked.map(|_| 2),
                blocked_total_ms: blocked,
                blocked_longest_ms: blocked.map(|b| b / 2.0),
                ..RunCost::default()
            },
        }
    }

    #[test]
    fn the_last_run_the_averages_and_the_modes_apart() {
        let runs = vec![
            run(1, false, true, Some(1000), Some(3000.0)),
            run(2, true, true, Some(100), Some(0.0)),
            run(3, false, true, Some(3000), Some(500.0)),
            run(4, true, true, None, None),
            // The latest plain one failed waiting for its lock: it blocked readers anyway.
            run(5, false, false, None, Some(1200.0)),
        ];
        let s = summarize(runs, StatsSource::Ledger).unwrap();
        assert_eq!(s.last_concurrently, Some(true));
        assert_eq!(s.last.as_ref().unwrap().wal_bytes, None);
        assert_eq!(s.runs_considered, 4);
        assert_eq!(s.avg_wal_bytes, Some((1000.0 + 100.0 + 3000.0) / 3.0));
        assert_eq!((s.plain_avg_wal_bytes, s.plain_wal_runs), (Some(2000.0), 2));
        assert_eq!(
            (s.concurrently_avg_wal_bytes, s.concurrently_wal_runs),
            (Some(100.0), 1)
        );
        assert_eq!(s.last_plain_blocked.unwrap().total_ms, 1200.0);
        assert_eq!(s.max_plain_blocked_total_ms, Some(3000.0));
        assert_eq!(summarize(Vec::new(), StatsSource::Ledger), None);
    }
}

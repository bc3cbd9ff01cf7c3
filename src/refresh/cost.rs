//! Measuring what a refresh costs, on the job's own session: pg_stat_statements' counters of
//! its statement read before the REFRESH (outside its transaction) and after it (inside,
//! before COMMIT, so the figures go in with the ledger row), and the sessions it blocked.
//! One refresh per MV at a time (the advisory lock) makes the delta its own. Measuring never
//! fails a refresh: the read after it runs under a savepoint, and whatever cannot be read
//! is recorded as absent, with the reason.

use tokio_postgres::Client;

use super::blocked::BlockedWatch;
use super::job::{JobSpec, OutcomeKind};
use super::statement::statement;
use crate::catalog::cost::{self, RunCost, SOURCE_PSS, StatementCounters, StatementKey};
use crate::catalog::sessions::blocked::blocked_by;
use crate::catalog::statements::error_line;

/// What was read before the REFRESH, or why nothing can be.
#[derive(Debug, Clone)]
pub(super) struct Measure {
    before: Result<Before, String>,
}

#[derive(Debug, Clone)]
struct Before {
    pss: String,
    block_size: i64,
    entries: Vec<StatementCounters>,
}

/// `blocked_note` when no sample of the waiters was taken.
const NOT_SAMPLED: &str =
    "not sampled: the refresh ended before the lock watcher looked, and the last look failed";

fn key<'a>(spec: &JobSpec, text: &'a str) -> StatementKey<'a> {
    StatementKey {
        text,
        oid: spec.target.oid,
        concurrently: spec.mode.concurrently,
        with_data: spec.mode.with_data,
    }
}

/// Reads the counters before the refresh; outside any transaction, so an error costs
/// nothing but the figures.
pub(super) async fn before(client: &Client, spec: &JobSpec) -> Measure {
    let text = statement(&spec.target, spec.mode);
    let before = async {
        let probe = cost::probe(client).await.map_err(|e| error_line(&e))?;
        let pss = probe.usable()?;
        let entries = cost::statement_counters(client, &pss, key(spec, &text))
            .await
            .map_err(|e| error_line(&e))?;
        Ok(Before {
            pss,
            block_size: probe.block_size,
            entries,
        })
    }
    .await;
    Measure { before }
}

/// After a successful REFRESH, inside its transaction: the counters again and the last
/// sample of the sessions waiting behind `pid`, under a savepoint (an error rolls back to
/// it and leaves the refresh's transaction intact).
pub(super) async fn after(
    client: &Client,
    spec: &JobSpec,
    measure: &Measure,
    watch: &BlockedWatch,
    pid: i32,
) -> RunCost {
    let text = statement(&spec.target, spec.mode);
    let mut cost = RunCost::default();
    let counters = async {
        match &measure.before {
            Ok(b) => Some(cost::statement_counters(client, &b.pss, key(spec, &text)).await),
            Err(_) => None,
        }
    };
    // The reads go out together; the savepoint keeps an error of theirs from aborting the
    // refresh's transaction.
    let saved = client.batch_execute("SAVEPOINT mvtop_cost").await.is_ok();
    let pids = [pid];
    let (counters, waiters) = tokio::join!(counters, blocked_by(client, &pids));
    if saved {
        let failed = matches!(counters, Some(Err(_))) || waiters.is_err();
        let _ = client
            .batch_execute(if failed {
                "ROLLBACK TO SAVEPOINT mvtop_cost; RELEASE SAVEPOINT mvtop_cost"
            } else {
                "RELEASE SAVEPOINT mvtop_cost"
            })
            .await;
    }
    match (&measure.before, counters) {
        (Err(why), _) => cost.cost_note = Some(why.clone()),
        (Ok(b), Some(Ok(after))) => match delta(&b.entries, &after, b.block_size) {
            Ok(measured) => cost = measured,
            Err(why) => cost.cost_note = Some(why),
        },
        (Ok(_), Some(Err(e))) => cost.cost_note = Some(error_line(&e)),
        (Ok(_), None) => {}
    }
    let why_none = match &waiters {
        Ok(seen) => {
            watch.add(pid, seen);
            NOT_SAMPLED.to_string()
        }
        Err(e) => format!("not sampled: {}", crate::pgconn::one_line(e)),
    };
    watch.fill(&mut cost, &why_none);
    cost
}

/// A run that did not succeed: pg_stat_statements counts no failed statement; the blocked
/// figures are the lock watcher's (a refresh that waited for its lock blocked others too).
pub(super) fn unmeasured(kind: OutcomeKind, watch: &BlockedWatch) -> RunCost {
    let mut cost = RunCost {
        cost_note: Some(match kind {
            OutcomeKind::Ok => "not measured".into(),
            _ => format!(
                "a refresh that ended {}: pg_stat_statements counts only statements that succeed",
                kind.as_str()
            ),
        }),
        ..RunCost::default()
    };
    watch.fill(&mut cost, NOT_SAMPLED);
    cost
}

/// The one refresh's figures from the entries before and after it: exactly one call must
/// have been added, else the delta is not this refresh's alone.
fn delta(
    before: &[StatementCounters],
    after: &[StatementCounters],
    block_size: i64,
) -> Result<RunCost, String> {
    let mut changed = Vec::new();
    for a in after {
        let base = before
            .iter()
            .find(|b| b.queryid == a.queryid)
            // An entry with fewer calls than before was reset or evicted and made again.
            .filter(|b| b.calls <= a.calls);
        let calls = a.calls - base.map_or(0, |b| b.calls);
        if calls > 0 {
            changed.push((a, base, calls));
        }
    }
    let calls: i64 = changed.iter().map(|c| c.2).sum();
    let (&[(a, base, _)], 1) = (changed.as_slice(), calls) else {
        return Err(if calls == 0 {
            "pg_stat_statements did not count this refresh (its entry was evicted or reset \
             meanwhile)"
                .into()
        } else {
            format!(
                "{calls} refreshes of this MV in this mode were counted meanwhile: this one's \
                 cost cannot be told apart"
            )
        });
    };
    let sub = |f: fn(&StatementCounters) -> Option<i64>| -> Option<i64> {
        let was = match base {
            Some(b) => f(b)?,
            None => 0,
        };
        Some(f(a)? - was)
    };
    let wal_bytes = sub(|c| c.wal_bytes);
    Ok(RunCost {
        wal_bytes,
        temp_bytes: sub(|c| c.temp_blks).map(|b| b * block_size),
        shared_read_bytes: sub(|c| c.read_blks).map(|b| b * block_size),
        shared_hit_bytes: sub(|c| c.hit_blks).map(|b| b * block_size),
        rows_processed: sub(|c| c.rows),
        cost_source: Some(SOURCE_PSS.into()),
        cost_note: wal_bytes
            .is_none()
            .then(|| "this pg_stat_statements has no WAL counter (PostgreSQL 13+ has)".into()),
        ..RunCost::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(queryid: i64, calls: i64, wal: Option<i64>) -> StatementCounters {
        StatementCounters {
            queryid,
            calls,
            wal_bytes: wal,
            temp_blks: Some(calls * 2),
            read_blks: Some(calls),
            hit_blks: Some(calls * 10),
            rows: Some(calls * 100),
        }
    }

    #[test]
    fn the_delta_of_one_call_is_the_refreshs_cost() {
        let d = delta(&[c(1, 3, Some(300))], &[c(1, 4, Some(450))], 8192).unwrap();
        assert_eq!(d.wal_bytes, Some(150));
        assert_eq!(d.temp_bytes, Some(2 * 8192));
        assert_eq!(d.shared_read_bytes, Some(8192));
        assert_eq!(d.shared_hit_bytes, Some(10 * 8192));
        assert_eq!(d.rows_processed, Some(100));
        assert_eq!(d.cost_source.as_deref(), Some(SOURCE_PSS));
        assert_eq!(d.cost_note, None);
    }

    #[test]
    fn a_new_entry_or_one_reset_meanwhile_counts_from_zero() {
        let d = delta(&[], &[c(1, 1, Some(70))], 8192).unwrap();
        assert_eq!(d.wal_bytes, Some(70));
        let d = delta(&[c(1, 9, Some(900))], &[c(1, 1, Some(80))], 8192).unwrap();
        assert_eq!(d.wal_bytes, Some(80));
        // Another spelling's entry that did not move is left alone.
        let d = delta(
            &[c(1, 2, Some(10)), c(2, 5, Some(50))],
            &[c(1, 3, Some(25)), c(2, 5, Some(50))],
            8192,
        )
        .unwrap();
        assert_eq!(d.wal_bytes, Some(15));
    }

    #[test]
    fn no_call_or_more_than_one_is_no_figure_with_the_reason() {
        let e = delta(&[c(1, 2, Some(1))], &[c(1, 2, Some(1))], 8192).unwrap_err();
        assert!(e.contains("did not count"), "{e}");
        let e = delta(&[c(1, 2, Some(1))], &[c(1, 4, Some(9))], 8192).unwrap_err();
        assert!(e.contains("2 refreshes"), "{e}");
    }

    #[test]
    fn without_a_wal_counter_the_rest_is_kept_and_the_gap_said() {
        let d = delta(&[c(1, 1, None)], &[c(1, 2, None)], 8192).unwrap();
        assert_eq!(d.wal_bytes, None);
        assert_eq!(d.rows_processed, Some(100));
        assert!(d.cost_note.unwrap().contains("WAL"));
    }
}

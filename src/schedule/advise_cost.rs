//! The advice that comes from what refreshes cost: a plain refresh that blocked readers for
//! over a second in total while CONCURRENTLY is impossible says which index would make it
//! possible; where CONCURRENTLY is possible and both modes were measured, which one writes
//! less WAL for this MV's rate of change. Part of `advise_mv`, so the console and `mvtop
//! schedule advise` say the same.

use crate::catalog::MatView;
use crate::catalog::cost::wait_secs;
use crate::catalog::ident::quote_qualified;
use crate::format;

/// Readers blocked for longer than this in total (by one plain refresh) earn a note.
pub const BLOCKED_NOTE_MS: f64 = 1_000.0;

/// The notes of `cost_notes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostNotes {
    /// The index that would let it refresh CONCURRENTLY, for the readers it blocked.
    pub index: Option<String>,
    /// Which mode writes less WAL.
    pub wal: Option<String>,
}

impl CostNotes {
    #[cfg(test)]
    fn all(self) -> Vec<String> {
        self.index.into_iter().chain(self.wal).collect()
    }
}

/// The notes for `v`; `writes_per_hour` is its base tables' write rate, when known.
pub fn cost_notes(v: &MatView, writes_per_hour: Option<f64>) -> CostNotes {
    let mut notes = CostNotes::default();
    let Some(c) = &v.refresh_cost else {
        return notes;
    };
    let ready = v.concurrent_ready || !v.populated && v.unique_index.is_some();
    if !ready
        && let Some(worst) = c
            .max_plain_blocked_total_ms
            .filter(|ms| *ms > BLOCKED_NOTE_MS)
    {
        let last = c
            .last_plain_blocked
            .map(|b| format!(" (last time: {})", b.describe()))
            .unwrap_or_default();
        notes.index = Some(format!(
            "a plain refresh blocked readers for up to {} in total{last}: CREATE UNIQUE INDEX \
             ON {} (the columns that identify a row, no WHERE, no expressions) would let it \
             refresh CONCURRENTLY, and readers would no longer wait",
            wait_secs(worst),
            quote_qualified(&v.schema, &v.name)
        ));
    }
    if ready
        && let (Some(plain), Some(conc)) = (c.plain_avg_wal_bytes, c.concurrently_avg_wal_bytes)
    {
        let rate = writes_per_hour
            .map(|w| {
                format!(
                    " at {} row writes per hour",
                    format::count(w.round() as i64)
                )
            })
            .unwrap_or_default();
        let said = |b: f64| format::size(b.round() as i64);
        let figures = format!(
            "CONCURRENTLY wrote {} of WAL on average ({} runs), plain {} ({} runs)",
            said(conc),
            c.concurrently_wal_runs,
            said(plain),
            c.plain_wal_runs
        );
        notes.wal = Some(if conc <= plain {
            format!(
                "{figures}: CONCURRENTLY writes less{rate} (it writes only the rows that \
                 changed) and never blocks readers"
            )
        } else {
            format!(
                "{figures}: plain writes less{rate} (most rows change, and a rewrite is \
                 cheaper than a diff), but it blocks every reader while it runs"
            )
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::StatsSource;
    use crate::catalog::cost::{Blocked, CostSummary};

    fn summary() -> CostSummary {
        CostSummary {
            source: StatsSource::Ledger,
            last: None,
            last_concurrently: Some(false),
            runs_considered: 0,
            avg_wal_bytes: None,
            avg_temp_bytes: None,
            avg_shared_read_bytes: None,
            avg_blocked_total_ms: None,
            plain_avg_wal_bytes: None,
            plain_wal_runs: 0,
            concurrently_avg_wal_bytes: None,
            concurrently_wal_runs: 0,
            last_plain_blocked: None,
            max_plain_blocked_total_ms: None,
        }
    }

    fn mv(ready: bool, c: CostSummary) -> MatView {
        let mut v = MatView::named(1, "Reporting".into(), "Sales".into(), "x".into());
        v.concurrent_ready = ready;
        v.unique_index = ready.then(|| "k".into());
        v.refresh_cost = Some(c);
        v
    }

    #[test]
    fn readers_blocked_over_a_second_without_concurrently_name_the_index() {
        let mut c = summary();
        c.max_plain_blocked_total_ms = Some(3200.0);
        c.last_plain_blocked = Some(Blocked {
            sessions: 14,
            total_ms: 3200.0,
            longest_ms: 900.0,
        });
        let notes = cost_notes(&mv(false, c.clone()), None).all();
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains(r#"CREATE UNIQUE INDEX ON "Reporting"."Sales""#),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("14 sessions blocked"), "{}", notes[0]);
        // Under a second, or possible already: nothing to say about it.
        c.max_plain_blocked_total_ms = Some(900.0);
        assert!(cost_notes(&mv(false, c.clone()), None).all().is_empty());
        c.max_plain_blocked_total_ms = Some(3200.0);
        assert!(cost_notes(&mv(true, c), None).all().is_empty());
    }

    #[test]
    fn both_modes_measured_say_which_writes_less_wal() {
        let mut c = summary();
        c.plain_avg_wal_bytes = Some(11_650_786.0);
        c.plain_wal_runs = 2;
        c.concurrently_avg_wal_bytes = Some(30_874.0);
        c.concurrently_wal_runs = 1;
        let notes = cost_notes(&mv(true, c.clone()), Some(40.0)).all();
        assert!(notes[0].contains("CONCURRENTLY writes less at 40 row writes per hour"));
        assert!(notes[0].contains("plain 11 MB (2 runs)"), "{}", notes[0]);
        c.concurrently_avg_wal_bytes = Some(20_000_000.0);
        let notes = cost_notes(&mv(true, c.clone()), None).all();
        assert!(notes[0].contains("plain writes less"), "{}", notes[0]);
        // One mode only: nothing to compare.
        c.plain_avg_wal_bytes = None;
        assert!(cost_notes(&mv(true, c), None).all().is_empty());
    }
}

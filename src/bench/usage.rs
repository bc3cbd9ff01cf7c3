//! How an MV is used: its scans from pg_stat_all_tables and its refreshes from the ledger,
//! over the window since the database's statistics were last reset.

use tokio_postgres::Client;

use super::verdict::Usage;
use crate::ledger::Ledger;

/// Read before the benchmark runs: its own reads would count as the MV's.
/// None when the statistics have no row for it.
pub async fn read_usage(
    client: &Client,
    oid: u32,
    ledger: Option<&Ledger>,
) -> Result<Option<Usage>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT (coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0))::int8,
                    extract(epoch FROM now() - d.stats_reset)::float8,
                    d.stats_reset
             FROM pg_stat_all_tables s
             CROSS JOIN pg_stat_database d
             WHERE s.relid = $1 AND d.datname = current_database()",
            &[&oid],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stats_reset: Option<chrono::DateTime<chrono::Utc>> = row.get(2);
    let mut usage = Usage {
        scans: row.get(0),
        window_secs: row.get(1),
        ..Usage::default()
    };
    if let Some(ledger) = ledger {
        // The history covers the whole window only when the ledger was installed before
        // the statistics were reset; otherwise the refresh interval stands in.
        let row = client
            .query_one(
                &ledger.sql(
                    "SELECT (SELECT min(applied_at) FROM {schema}.version) <= $2 AS covers,
                            count(*) FILTER (WHERE started_at >= $2)::int8 AS in_window,
                            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)
                             FROM (SELECT extract(epoch FROM started_at - lag(started_at)
                                                  OVER (ORDER BY started_at))::float8 AS gap
                                   FROM {schema}.refresh_log
                                   WHERE mv_oid = $1 AND outcome = 'ok') g) AS interval
                     FROM {schema}.refresh_log
                     WHERE mv_oid = $1 AND outcome = 'ok'",
                ),
                &[&oid, &stats_reset],
            )
            .await?;
        let covers: Option<bool> = row.get("covers");
        if covers == Some(true) {
            usage.refreshes_in_window = Some(row.get("in_window"));
        }
        usage.refresh_interval_secs = row.get("interval");
    }
    Ok(Some(usage))
}

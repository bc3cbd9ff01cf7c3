//! The console's frequent poll: cheap enough for every tick, and enough to know when the
//! full inventory must be read again. At rest its cost does not grow with the MVs: the
//! MVs' fingerprint is computed only after DDL, the base tables' write counters only after
//! writes (see `assets/sql/pulse.sql`).

use std::collections::HashMap;

use tokio_postgres::{Client, Statement};

use super::writes::TableWrites;

pub const PULSE_SQL: &str = include_str!("../../assets/sql/pulse.sql");

/// The pulse, prepared once on the monitoring session (planning it every tick would cost
/// more than running it).
#[derive(Debug, Clone)]
pub struct PulseStatements {
    pulse: Statement,
}

impl PulseStatements {
    pub async fn prepare(client: &Client) -> Result<PulseStatements, tokio_postgres::Error> {
        Ok(PulseStatements {
            pulse: client.prepare(PULSE_SQL).await?,
        })
    }
}

/// Changes when any MV is refreshed, created, dropped or altered, a view is redefined or
/// a schema renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub mv_count: i64,
    pub xmin_sum: String,
    /// Rows written to pg_rewrite and pg_namespace; None from the inventory, which does not
    /// read it (the first pulse then reads the inventory again only if an MV changed).
    pub definition_writes: Option<i64>,
}

impl Fingerprint {
    /// Whether `now` (a pulse's) shows a change since `self`.
    pub fn moved_to(&self, now: &Fingerprint) -> bool {
        self.mv_count != now.mv_count
            || self.xmin_sum != now.xmin_sum
            || self
                .definition_writes
                .zip(now.definition_writes)
                .is_some_and(|(a, b)| a != b)
    }
}

/// What the last pulse saw, so the next reads only what moved since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Baseline {
    /// Rows written to pg_class and pg_index (None: never read, compute the fingerprint).
    pub catalog_writes: Option<i64>,
    /// Rows written to any table of the database (None: read the base tables' counters).
    pub db_writes: Option<i64>,
    /// Compute the fingerprint whatever the counters say: a standby replays DDL without
    /// counting it.
    pub always_fingerprint: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pulse {
    /// None when no DDL ran since the baseline: nothing to compare.
    pub fingerprint: Option<Fingerprint>,
    /// MV oid -> backends refreshing it now.
    pub refreshing: HashMap<u32, Vec<i32>>,
    /// MV oid -> the other sessions holding a lock on it now.
    pub lock_holders: HashMap<u32, Vec<i32>>,
    /// Write counters of the MVs' base tables (asked for), None when nothing was written
    /// to the database since the baseline.
    pub writes: Option<TableWrites>,
    /// For the next pulse.
    pub baseline: Baseline,
}

impl Pulse {
    /// `tables`: the base tables whose write counters to read with it.
    pub async fn fetch(
        client: &Client,
        statements: &PulseStatements,
        tables: &[u32],
        since: Baseline,
    ) -> Result<Pulse, tokio_postgres::Error> {
        let row = client
            .query_one(
                &statements.pulse,
                &[
                    &since.catalog_writes.unwrap_or(-1),
                    &since.always_fingerprint,
                    &tables,
                    &since.db_writes.unwrap_or(-1),
                ],
            )
            .await?;
        let definition_writes: i64 = row.get("definition_writes");
        let fingerprint = row
            .get::<_, Option<i64>>("mv_count")
            .map(|mv_count| Fingerprint {
                mv_count,
                xmin_sum: row.get::<_, Option<String>>("xmin_sum").unwrap_or_default(),
                definition_writes: Some(definition_writes),
            });
        let writes = row
            .get::<_, Option<Vec<i64>>>("table_writes")
            .map(|w| tables.iter().copied().zip(w).collect());
        let refreshing: serde_json::Value = row.get("refreshing");
        let holders: serde_json::Value = row.get("holders");
        Ok(Pulse {
            fingerprint,
            refreshing: pairs(&refreshing)
                .filter_map(|(oid, v)| Some((oid, pids(v)?)))
                .collect(),
            lock_holders: pairs(&holders)
                .filter_map(|(oid, v)| Some((oid, pids(v)?)))
                .collect(),
            writes,
            baseline: Baseline {
                catalog_writes: Some(row.get("catalog_writes")),
                db_writes: Some(row.get("db_writes")),
                always_fingerprint: since.always_fingerprint,
            },
        })
    }
}

/// A JSON array of pids.
fn pids(v: &serde_json::Value) -> Option<Vec<i32>> {
    Some(
        v.as_array()?
            .iter()
            .filter_map(|p| p.as_i64())
            .map(|p| p as i32)
            .collect(),
    )
}

/// `[[oid, value], ...]` as (oid, value).
fn pairs(v: &serde_json::Value) -> impl Iterator<Item = (u32, &serde_json::Value)> {
    v.as_array().into_iter().flatten().filter_map(|pair| {
        let oid = pair.get(0)?.as_u64()? as u32;
        Some((oid, pair.get(1)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(mv_count: i64, xmin_sum: &str, definition_writes: Option<i64>) -> Fingerprint {
        Fingerprint {
            mv_count,
            xmin_sum: xmin_sum.into(),
            definition_writes,
        }
    }

    #[test]
    fn a_fingerprint_moves_with_the_mvs_and_with_definitions_when_both_know_them() {
        let known = print(3, "100", None);
        assert!(!known.moved_to(&print(3, "100", Some(7))));
        assert!(known.moved_to(&print(3, "101", Some(7))));
        assert!(known.moved_to(&print(4, "100", Some(7))));
        let seen = print(3, "100", Some(7));
        assert!(!seen.moved_to(&print(3, "100", Some(7))));
        assert!(seen.moved_to(&print(3, "100", Some(8))));
    }
}

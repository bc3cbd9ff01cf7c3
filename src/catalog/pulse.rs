//! The console's frequent poll: cheap enough for every tick, and enough to know when the
//! full inventory must be read again.

use std::collections::HashMap;

use tokio_postgres::{Client, Statement};

use super::writes::{TABLE_WRITES_SQL, TableWrites};

pub const PULSE_SQL: &str = include_str!("../../assets/sql/pulse.sql");

/// The pulse's statements, prepared once on the monitoring session (planning them every
/// tick would cost more than running them).
#[derive(Debug, Clone)]
pub struct PulseStatements {
    pulse: Statement,
    writes: Statement,
}

impl PulseStatements {
    pub async fn prepare(client: &Client) -> Result<PulseStatements, tokio_postgres::Error> {
        Ok(PulseStatements {
            pulse: client.prepare(PULSE_SQL).await?,
            writes: client.prepare(TABLE_WRITES_SQL).await?,
        })
    }
}

/// Changes when any MV is refreshed, created, dropped or altered, and when a standby is
/// promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub mv_count: i64,
    pub xmin_sum: String,
    pub in_recovery: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pulse {
    pub fingerprint: Fingerprint,
    /// MV oid -> backends refreshing it now.
    pub refreshing: HashMap<u32, Vec<i32>>,
    /// MV oid -> the other sessions holding a lock on it now.
    pub lock_holders: HashMap<u32, Vec<i32>>,
    /// Write counters of the MVs' base tables (asked for): fresh or stale, live.
    pub writes: TableWrites,
}

impl Pulse {
    /// `tables`: the base tables whose write counters to read with it.
    pub async fn fetch(
        client: &Client,
        statements: &PulseStatements,
        tables: &[u32],
    ) -> Result<Pulse, tokio_postgres::Error> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&tables];
        let (row, writes) = tokio::join!(
            client.query_one(&statements.pulse, &[]),
            client.query(&statements.writes, &params)
        );
        let row = row?;
        let writes = writes?.iter().map(|r| (r.get(0), r.get(1))).collect();
        let refreshing: serde_json::Value = row.get("refreshing");
        let holders: serde_json::Value = row.get("holders");
        Ok(Pulse {
            fingerprint: Fingerprint {
                mv_count: row.get("mv_count"),
                xmin_sum: row.get("xmin_sum"),
                in_recovery: row.get("in_recovery"),
            },
            refreshing: pairs(&refreshing)
                .filter_map(|(oid, v)| Some((oid, pids(v)?)))
                .collect(),
            lock_holders: pairs(&holders)
                .filter_map(|(oid, v)| Some((oid, pids(v)?)))
                .collect(),
            writes,
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

//! The console's frequent poll: cheap enough for every tick, and enough to know when the
//! full inventory must be read again.

use std::collections::HashMap;

use tokio_postgres::{Client, Statement};

pub const PULSE_SQL: &str = include_str!("../../assets/sql/pulse.sql");

/// Changes when any MV is refreshed, created, dropped or altered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub mv_count: i64,
    pub xmin_sum: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pulse {
    pub fingerprint: Fingerprint,
    /// MV oid -> backends refreshing it now.
    pub refreshing: HashMap<u32, Vec<i32>>,
    /// MV oid -> other sessions holding a lock on it now.
    pub lock_holders: HashMap<u32, i64>,
}

impl Pulse {
    /// `statement`: PULSE_SQL prepared once on this session (planning it every tick would
    /// cost more than running it).
    pub async fn fetch(
        client: &Client,
        statement: &Statement,
    ) -> Result<Pulse, tokio_postgres::Error> {
        let row = client.query_one(statement, &[]).await?;
        let refreshing: serde_json::Value = row.get("refreshing");
        let holders: serde_json::Value = row.get("holders");
        Ok(Pulse {
            fingerprint: Fingerprint {
                mv_count: row.get("mv_count"),
                xmin_sum: row.get("xmin_sum"),
            },
            refreshing: pairs(&refreshing)
                .filter_map(|(oid, v)| {
                    let pids = v
                        .as_array()?
                        .iter()
                        .filter_map(|p| p.as_i64())
                        .map(|p| p as i32);
                    Some((oid, pids.collect()))
                })
                .collect(),
            lock_holders: pairs(&holders)
                .filter_map(|(oid, v)| Some((oid, v.as_i64()?)))
                .collect(),
        })
    }
}

/// `[[oid, value], ...]` as (oid, value).
fn pairs(v: &serde_json::Value) -> impl Iterator<Item = (u32, &serde_json::Value)> {
    v.as_array().into_iter().flatten().filter_map(|pair| {
        let oid = pair.get(0)?.as_u64()? as u32;
        Some((oid, pair.get(1)?))
    })
}

//! The per-MV part of the inventory: sizes and definitions (a relation-cache build per MV,
//! most of the inventory's cost on thousands of MVs), shared out over the sessions given,
//! and the refresh statistics of pg_stat_statements and the ledger.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::join_all;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::ident::quote_ident;
use super::inventory::FetchOptions;
use super::server::{PssAvailability, ServerFacts};
use crate::ledger::LedgerStats;

const DETAILS_SQL: &str = include_str!("../../assets/sql/mv_details.sql");
const BUSY_SQL: &str = include_str!("../../assets/sql/inventory_busy.sql");
const PSS_STATS_SQL: &str = include_str!("../../assets/sql/refresh_stats_pss.sql");

/// Per MV: what the details query found.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub table_bytes: Option<i64>,
    pub index_bytes: Option<i64>,
    pub size_locked: bool,
    pub definition: Option<String>,
    pub definition_locked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PssStats {
    pub calls: i64,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

pub type PerMv = (
    Result<HashMap<u32, Details>, tokio_postgres::Error>,
    Option<Result<HashMap<u32, PssStats>, tokio_postgres::Error>>,
    Option<Result<HashMap<u32, LedgerStats>, tokio_postgres::Error>>,
);

/// The MVs are sized in chunks that the sessions take as they finish the last: the one that
/// also reads the catalog, or one slowed by a loaded server, simply takes fewer.
const CHUNKS_PER_SESSION: usize = 6;
const MIN_CHUNK: usize = 100;

fn chunk_len(mvs: usize, sessions: usize) -> usize {
    mvs.div_ceil(sessions.max(1) * CHUNKS_PER_SESSION)
        .max(MIN_CHUNK)
}

/// Sizes and definitions of `oids` over `sessions`; pg_stat_statements and the ledger on the
/// last one.
pub async fn fetch(
    sessions: &[&Client],
    oids: &[u32],
    facts: &ServerFacts,
    with: &FetchOptions,
) -> PerMv {
    let chunks: Vec<&[u32]> = oids.chunks(chunk_len(oids.len(), sessions.len())).collect();
    let next = AtomicUsize::new(0);
    let details = join_all(sessions.iter().map(|session| {
        let (chunks, next) = (&chunks, &next);
        async move {
            let mut found = HashMap::new();
            let mut locks = None;
            loop {
                let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<_, tokio_postgres::Error>(found);
                };
                found.extend(details_of(session, chunk, with.definitions, &mut locks).await?);
            }
        }
    }));
    let last = sessions[sessions.len() - 1];
    let stats = async {
        let PssAvailability::Usable { schema } = facts.pss() else {
            return None;
        };
        let sql = pss_stats_sql(&schema, facts.version_num);
        Some(last.query(sql.as_str(), &[]).await.map(|rows| {
            rows.iter()
                .map(|r| {
                    let s = PssStats {
                        calls: r.get("calls"),
                        avg_ms: r.get("avg_ms"),
                        max_ms: r.get("max_ms"),
                    };
                    (r.get("oid"), s)
                })
                .collect()
        }))
    };
    let ledger = async {
        if facts.ledger_installed {
            Some(with.ledger.stats(last).await)
        } else {
            None
        }
    };
    let (details, stats, ledger) = tokio::join!(details, stats, ledger);
    let details = details
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.into_iter().flatten().collect());
    (details, stats, ledger)
}

/// Relations a plain REFRESH, DROP or ALTER holds or waits for, and what reads them.
#[derive(Debug, Clone, Default)]
struct Busy {
    locked: HashSet<u32>,
    read_locked: HashSet<u32>,
}

async fn read_busy(client: &Client) -> Result<Busy, tokio_postgres::Error> {
    let row = client.query_one(BUSY_SQL, &[]).await?;
    let set = |column| row.get::<_, Vec<u32>>(column).into_iter().collect();
    Ok(Busy {
        locked: set("busy"),
        read_locked: set("reads_busy"),
    })
}

/// Sizes and (when `definitions`) definitions of `oids`, leaving out what would wait for a
/// lock (`locks`: what the session last read of them). A lock taken since makes the
/// statement hit its lock_timeout; reading the locks again then sees it, so a retry or two
/// always ends.
async fn details_of(
    client: &Client,
    oids: &[u32],
    definitions: bool,
    locks: &mut Option<Busy>,
) -> Result<HashMap<u32, Details>, tokio_postgres::Error> {
    let mut attempt = 1;
    loop {
        let busy = match locks.take() {
            Some(b) => b,
            None => read_busy(client).await?,
        };
        let sized: Vec<bool> = oids.iter().map(|o| !busy.locked.contains(o)).collect();
        let defined: Vec<bool> = oids
            .iter()
            .map(|o| definitions && !busy.locked.contains(o) && !busy.read_locked.contains(o))
            .collect();
        match client.query(DETAILS_SQL, &[&oids, &sized, &defined]).await {
            Err(e) if attempt < 3 && e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                attempt += 1;
            }
            Err(e) => return Err(e),
            Ok(rows) => {
                let found = rows
                    .iter()
                    .map(|row| {
                        let oid: u32 = row.get("oid");
                        let locked = busy.locked.contains(&oid);
                        let d = Details {
                            table_bytes: row.get("table_bytes"),
                            index_bytes: row.get("index_bytes"),
                            size_locked: locked,
                            definition: row.get("definition"),
                            definition_locked: locked || busy.read_locked.contains(&oid),
                        };
                        (oid, d)
                    })
                    .collect();
                *locks = Some(busy);
                return Ok(found);
            }
        }
    }
}

fn pss_stats_sql(schema: &str, version_num: i32) -> String {
    let (total, max) = if version_num >= 130000 {
        ("total_exec_time", "max_exec_time")
    } else {
        ("total_time", "max_time")
    };
    let toplevel = if version_num >= 140000 {
        "AND s.toplevel"
    } else {
        ""
    };
    PSS_STATS_SQL
        .replace(
            "{pss}",
            &format!("{}.pg_stat_statements", quote_ident(schema)),
        )
        .replace("{total}", total)
        .replace("{max}", max)
        .replace("{toplevel}", toplevel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_leave_each_session_several_to_take() {
        assert_eq!(chunk_len(5000, 2), 417);
        assert_eq!(chunk_len(20000, 2), 1667);
        assert_eq!(chunk_len(10, 1), MIN_CHUNK);
        assert_eq!(chunk_len(0, 2), MIN_CHUNK);
        assert_eq!(chunk_len(5000, 0), 834);
    }
}

//! The per-MV part of the inventory: sizes and definitions (a relation-cache build per MV,
//! most of the inventory's cost on thousands of MVs), shared out over the sessions given,
//! and the refresh statistics of pg_stat_statements.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::ident::quote_ident;
use super::server::{PssAvailability, ServerFacts};
use crate::pgconn::Session;

const DETAILS_SQL: &str = include_str!("../../assets/sql/mv_details.sql");
const BUSY_SQL: &str = include_str!("../../assets/sql/inventory_busy.sql");
const PSS_STATS_SQL: &str = include_str!("../../assets/sql/refresh_stats_pss.sql");

/// Per MV: what the details query found.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub table_bytes: Option<i64>,
    pub index_bytes: Option<i64>,
    pub size_locked: bool,
    pub definition: Option<std::sync::Arc<str>>,
    pub definition_locked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PssStats {
    pub calls: i64,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// What `fetch` found.
pub struct PerMv {
    pub details: Result<HashMap<u32, Details>, tokio_postgres::Error>,
    pub stats: Option<Result<HashMap<u32, PssStats>, tokio_postgres::Error>>,
    /// The backends of the sessions that did the work: their locks on the MVs are mvtop's
    /// own, not readers'.
    pub own_pids: Vec<i32>,
}

/// What an earlier inventory read of each MV, kept by a caller that reads again and again
/// (the console): an MV whose pg_class row has not changed since (no REFRESH, no ALTER)
/// has the same size and definition, and is not read again.
#[derive(Debug, Clone, Default)]
pub struct DetailsCache {
    entries: HashMap<u32, Cached>,
}

#[derive(Debug, Clone)]
struct Cached {
    row_version: i64,
    /// None when the sizes were skipped (locked): read again next time.
    sizes: Option<(Option<i64>, Option<i64>)>,
    definition: Option<std::sync::Arc<str>>,
}

/// What a read takes again from PostgreSQL of the MVs an earlier one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reread {
    /// Only the MVs that changed since (new, refreshed, altered).
    Changed,
    /// Every MV's size too: VACUUM changes them without touching the MV's row.
    Sizes,
    /// Everything, definitions too: renaming what an MV reads changes its definition's
    /// text, not the MV's row.
    Everything,
}

impl DetailsCache {
    /// Forgets what `again` says to read again.
    pub fn forget(&mut self, again: Reread) {
        match again {
            Reread::Changed => {}
            Reread::Sizes => self.entries.values_mut().for_each(|c| c.sizes = None),
            Reread::Everything => self.entries.clear(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Per MV to read: (oid, size it, read its definition).
type Wanted = (u32, bool, bool);

/// What must be read of `mvs` ((oid, row version)) given what `cache` holds.
fn wanted(mvs: &[(u32, i64)], cache: &DetailsCache, definitions: bool) -> Vec<Wanted> {
    mvs.iter()
        .filter_map(|&(oid, version)| {
            let known = cache.entries.get(&oid).filter(|c| c.row_version == version);
            let size = known.is_none_or(|c| c.sizes.is_none());
            let define = definitions && known.is_none_or(|c| c.definition.is_none());
            (size || define).then_some((oid, size, define))
        })
        .collect()
}

impl DetailsCache {
    /// Takes in what was read, forgets MVs no longer there, and returns every MV's details.
    fn merge(
        &mut self,
        mvs: &[(u32, i64)],
        mut read: HashMap<u32, Details>,
    ) -> HashMap<u32, Details> {
        let mut out = HashMap::with_capacity(mvs.len());
        let mut kept = HashMap::with_capacity(mvs.len());
        for &(oid, version) in mvs {
            let mut entry = self
                .entries
                .remove(&oid)
                .filter(|c| c.row_version == version)
                .unwrap_or(Cached {
                    row_version: version,
                    sizes: None,
                    definition: None,
                });
            let mut details = Details {
                table_bytes: None,
                index_bytes: None,
                size_locked: false,
                definition: None,
                definition_locked: false,
            };
            if let Some(r) = read.remove(&oid) {
                details.size_locked = r.size_locked;
                details.definition_locked = r.definition_locked;
                if r.table_bytes.is_some() || r.index_bytes.is_some() {
                    entry.sizes = Some((r.table_bytes, r.index_bytes));
                }
                if r.definition.is_some() {
                    entry.definition = r.definition;
                }
            }
            if let Some((table, index)) = entry.sizes {
                details.table_bytes = table;
                details.index_bytes = index;
            }
            details.definition.clone_from(&entry.definition);
            out.insert(oid, details);
            kept.insert(oid, entry);
        }
        self.entries = kept;
        out
    }
}

/// The MVs are sized in chunks that the sessions take as they finish the last: the one that
/// also reads the catalog, or one slowed by a loaded server, simply takes fewer. A chunk is
/// one statement, and sizing an MV locks it, its TOAST table and their indexes, reading its
/// definition every relation it reads, until the statement's transaction ends: with
/// thousands of MVs in one statement that is tens of thousands of entries in the server's
/// shared lock table, which other sessions' locks then cannot get ("out of shared memory":
/// `pg_get_viewdef` of 20,000 MVs in one statement does it with the default settings). A
/// few hundred locks at a time, released after each chunk, is harmless.
const CHUNK: usize = 50;

/// Sizes and definitions of `mvs` ((oid, row version)) on `main` and, once it connects,
/// `helper`; pg_stat_statements on `main` (definitions too when `definitions`).
pub async fn fetch(
    main: &Client,
    helper: impl Future<Output = Option<Session>>,
    mvs: &[(u32, i64)],
    facts: &ServerFacts,
    definitions: bool,
    cache: &mut DetailsCache,
) -> PerMv {
    let wanted = wanted(mvs, cache, definitions);
    // Sized for two sessions: with one, it simply takes every chunk.
    let chunks: Vec<&[Wanted]> = wanted.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    let work = async |session: &Client| {
        let mut found = HashMap::new();
        let mut locks = None;
        loop {
            let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) else {
                let pid = locks.map(|b: Busy| b.pid);
                return Ok::<_, tokio_postgres::Error>((found, pid));
            };
            found.extend(details_of(session, chunk, &mut locks).await?);
        }
    };
    // The main session's statements queue behind the rest of the catalog read; the helper
    // starts on the chunks as soon as it is connected.
    let details = async {
        let on_helper = async {
            match helper.await {
                Some(h) => Some(work(&h.client).await),
                None => None,
            }
        };
        let (on_main, on_helper) = tokio::join!(work(main), on_helper);
        std::iter::once(on_main)
            .chain(on_helper)
            .collect::<Vec<_>>()
    };
    let last = main;
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
    let (details, stats) = tokio::join!(details, stats);
    let mut own_pids = Vec::new();
    let details = details
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| {
            let mut read = HashMap::new();
            for (found, pid) in parts {
                read.extend(found);
                own_pids.extend(pid);
            }
            cache.merge(mvs, read)
        });
    PerMv {
        details,
        stats,
        own_pids,
    }
}

/// Relations a plain REFRESH, DROP or ALTER holds or waits for, and what reads them.
#[derive(Debug, Clone, Default)]
struct Busy {
    locked: HashSet<u32>,
    read_locked: HashSet<u32>,
    /// The reading session's own backend.
    pid: i32,
}

async fn read_busy(client: &Client) -> Result<Busy, tokio_postgres::Error> {
    let row = client.query_one(BUSY_SQL, &[]).await?;
    let set = |column| row.get::<_, Vec<u32>>(column).into_iter().collect();
    Ok(Busy {
        locked: set("busy"),
        read_locked: set("reads_busy"),
        pid: row.get("pid"),
    })
}

/// Sizes and definitions of the MVs wanted, leaving out what would wait for a lock
/// (`locks`: what the session last read of them). A lock taken since makes the statement
/// hit its lock_timeout; reading the locks again then sees it, so a retry or two always
/// ends.
async fn details_of(
    client: &Client,
    wanted: &[Wanted],
    locks: &mut Option<Busy>,
) -> Result<HashMap<u32, Details>, tokio_postgres::Error> {
    let oids: Vec<u32> = wanted.iter().map(|w| w.0).collect();
    let mut attempt = 1;
    loop {
        let busy = match locks.take() {
            Some(b) => b,
            None => read_busy(client).await?,
        };
        let sized: Vec<bool> = wanted
            .iter()
            .map(|&(o, size, _)| size && !busy.locked.contains(&o))
            .collect();
        let defined: Vec<bool> = wanted
            .iter()
            .map(|&(o, _, define)| {
                define && !busy.locked.contains(&o) && !busy.read_locked.contains(&o)
            })
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
                            definition: row
                                .get::<_, Option<&str>>("definition")
                                .map(std::sync::Arc::from),
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

    fn details(table: Option<i64>, definition: Option<&str>, locked: bool) -> Details {
        Details {
            table_bytes: table,
            index_bytes: table.map(|_| 0),
            size_locked: locked,
            definition: definition.map(std::sync::Arc::from),
            definition_locked: locked,
        }
    }

    #[test]
    fn an_unchanged_mv_is_not_read_again_a_changed_or_locked_one_is() {
        let mut cache = DetailsCache::default();
        let mvs = [(1, 100), (2, 200), (3, 300)];
        assert_eq!(
            wanted(&mvs, &cache, false),
            [(1, true, false), (2, true, false), (3, true, false)]
        );
        let read = HashMap::from([
            (1, details(Some(8192), None, false)),
            (2, details(Some(16384), None, false)),
            (3, details(None, None, true)),
        ]);
        let all = cache.merge(&mvs, read);
        assert_eq!(all[&2].table_bytes, Some(16384));
        assert!(all[&3].size_locked);
        // 3 was locked, 2 was refreshed (a new row version), 4 is new; definitions wanted now.
        let mvs = [(1, 100), (2, 201), (3, 300), (4, 400)];
        assert_eq!(
            wanted(&mvs, &cache, true),
            [
                (1, false, true),
                (2, true, true),
                (3, true, true),
                (4, true, true)
            ]
        );
        let read = HashMap::from([
            (1, details(None, Some("SELECT 1"), false)),
            (2, details(Some(24576), Some("SELECT 2"), false)),
            (3, details(Some(8192), Some("SELECT 3"), false)),
            (4, details(Some(8192), Some("SELECT 4"), false)),
        ]);
        let all = cache.merge(&mvs, read);
        assert_eq!(
            (all[&1].table_bytes, all[&1].definition.as_deref()),
            (Some(8192), Some("SELECT 1"))
        );
        assert_eq!(all[&2].table_bytes, Some(24576));
        assert!(wanted(&mvs, &cache, true).is_empty(), "all known now");
        // Dropped MVs are forgotten.
        cache.merge(&mvs[..1], HashMap::new());
        assert_eq!(cache.len(), 1);
    }
}

//! Statement timing from pg_stat_statements: counters without the query text (cheap, read
//! every few seconds), deltas between two reads, and the text of the top statements only.

use std::collections::HashMap;

use serde::Serialize;
use tokio_postgres::{Client, Statement};

use super::ident::quote_ident;
use super::server::ServerFacts;
use super::sessions::refresh_target;

const COUNTERS_SQL: &str = include_str!("../../assets/sql/pss_counters.sql");
const TEXTS_SQL: &str = include_str!("../../assets/sql/pss_texts.sql");

/// Where pg_stat_statements lives on this server, once it is known to be usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PssSource {
    pub schema: String,
    pub version_num: i32,
}

/// Whether statement timing can be shown, and if not, the one line saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PssAccess {
    /// Usable; `note` says when only this role's statements are visible.
    Usable {
        source: PssSource,
        note: Option<String>,
    },
    Unavailable(String),
}

pub const NOT_LOADED: &str = "pg_stat_statements is not loaded: add it to \
    shared_preload_libraries in postgresql.conf, restart PostgreSQL, then run \
    CREATE EXTENSION pg_stat_statements; in this database";

/// What the server facts allow; every refusal is one line saying exactly what to do.
pub fn access(facts: &ServerFacts) -> PssAccess {
    match (&facts.pss_schema, facts.pss_preloaded) {
        (Some(_), Some(false)) => PssAccess::Unavailable(
            "pg_stat_statements is installed but not loaded: add it to \
             shared_preload_libraries in postgresql.conf and restart PostgreSQL"
                .into(),
        ),
        (None, Some(false)) => PssAccess::Unavailable(NOT_LOADED.into()),
        (None, _) => PssAccess::Unavailable(
            "pg_stat_statements is not installed in this database: run \
             CREATE EXTENSION pg_stat_statements; (as a superuser or the database owner)"
                .into(),
        ),
        (Some(schema), _) => PssAccess::Usable {
            source: PssSource {
                schema: schema.clone(),
                version_num: facts.version_num,
            },
            note: (!facts.reads_all_stats).then(|| {
                format!(
                    "only the statements of role {} are visible: GRANT pg_read_all_stats TO {};",
                    facts.role,
                    quote_ident(&facts.role)
                )
            }),
        },
    }
}

/// A read error as the one line to show: a library that is not preloaded says what to do.
pub fn error_line(e: &tokio_postgres::Error) -> String {
    let line = crate::pgconn::one_line(e);
    if line.contains("shared_preload_libraries") {
        NOT_LOADED.into()
    } else {
        format!("pg_stat_statements unreadable: {line}")
    }
}

impl PssSource {
    fn view(&self) -> String {
        format!("{}.pg_stat_statements", quote_ident(&self.schema))
    }

    fn total_column(&self) -> &'static str {
        if self.version_num >= 130000 {
            "total_exec_time"
        } else {
            "total_time"
        }
    }

    fn toplevel(&self) -> &'static str {
        if self.version_num >= 140000 {
            "AND s.toplevel"
        } else {
            ""
        }
    }

    /// Counters of this database's statements, summed by queryid, without their text.
    pub fn counters_sql(&self) -> String {
        COUNTERS_SQL
            .replace("{pss}", &self.view())
            .replace("{total}", self.total_column())
            .replace("{toplevel}", self.toplevel())
    }

    /// The text of some statements ($1: their queryids).
    pub fn texts_sql(&self) -> String {
        TEXTS_SQL.replace("{pss}", &self.view())
    }
}

/// Both statements, prepared once on a session.
#[derive(Debug, Clone)]
pub struct PssStatements {
    pub counters: Statement,
    pub texts: Statement,
}

impl PssStatements {
    pub async fn prepare(
        client: &Client,
        source: &PssSource,
    ) -> Result<PssStatements, tokio_postgres::Error> {
        Ok(PssStatements {
            counters: client.prepare(&source.counters_sql()).await?,
            texts: client.prepare(&source.texts_sql()).await?,
        })
    }

    pub async fn counters(&self, client: &Client) -> Result<Counters, tokio_postgres::Error> {
        let rows = client.query(&self.counters, &[]).await?;
        Ok(Counters {
            by_query: rows
                .iter()
                .map(|r| {
                    let c = Counter {
                        calls: r.get("calls"),
                        total_ms: r.get("total_ms"),
                        rows: r.get("rows"),
                    };
                    (r.get("queryid"), c)
                })
                .collect(),
        })
    }

    pub async fn texts(
        &self,
        client: &Client,
        queryids: &[i64],
    ) -> Result<HashMap<i64, String>, tokio_postgres::Error> {
        let rows = client.query(&self.texts, &[&queryids]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counter {
    pub calls: i64,
    pub total_ms: f64,
    pub rows: i64,
}

/// One read of the counters, by queryid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub by_query: HashMap<i64, Counter>,
}

impl Counters {
    /// What happened between `before` and `self`. An entry that is new, or whose counters
    /// went down (a reset, or evicted and back), counts from zero.
    pub fn since(&self, before: &Counters) -> Counters {
        let by_query = self
            .by_query
            .iter()
            .filter_map(|(id, now)| {
                let d = match before.by_query.get(id) {
                    Some(b) if now.calls >= b.calls && now.total_ms >= b.total_ms => Counter {
                        calls: now.calls - b.calls,
                        total_ms: now.total_ms - b.total_ms,
                        rows: (now.rows - b.rows).max(0),
                    },
                    _ => *now,
                };
                (d.calls > 0).then_some((*id, d))
            })
            .collect();
        Counters { by_query }
    }
}

/// One statement as `mvtop top` and the console show it. Field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementStat {
    pub queryid: i64,
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    /// Over a window only.
    pub calls_per_s: Option<f64>,
    /// Of the total time of every statement in the same window (0..1).
    pub share: f64,
    /// The MV, when it is a REFRESH.
    pub refresh_of: Option<String>,
}

/// The `limit` statements with the most time, from counters (a window's or cumulative).
/// `seconds`: the window's length, for calls per second. `refresh_only`: REFRESH statements
/// only. Statements whose text is not known yet are kept, with an empty text.
pub fn top(
    counters: &Counters,
    texts: &HashMap<i64, String>,
    seconds: Option<f64>,
    limit: usize,
    refresh_only: bool,
) -> Vec<StatementStat> {
    let all_ms: f64 = counters.by_query.values().map(|c| c.total_ms).sum();
    let mut out: Vec<StatementStat> = counters
        .by_query
        .iter()
        .map(|(id, c)| {
            let query = texts.get(id).cloned().unwrap_or_default();
            StatementStat {
                queryid: *id,
                refresh_of: refresh_target(&query),
                query,
                calls: c.calls,
                total_ms: round3(c.total_ms),
                mean_ms: round3(c.total_ms / (c.calls.max(1)) as f64),
                rows: c.rows,
                calls_per_s: seconds
                    .filter(|s| *s > 0.0)
                    .map(|s| round3(c.calls as f64 / s)),
                share: if all_ms > 0.0 {
                    round3(c.total_ms / all_ms)
                } else {
                    0.0
                },
            }
        })
        .filter(|s| !refresh_only || s.refresh_of.is_some())
        .collect();
    out.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then(a.queryid.cmp(&b.queryid))
    });
    out.truncate(limit);
    out
}

/// The queryids of the `limit` heaviest entries: the ones whose text is worth reading.
pub fn heaviest(counters: &Counters, limit: usize) -> Vec<i64> {
    let mut ids: Vec<(&i64, &Counter)> = counters.by_query.iter().collect();
    ids.sort_by(|a, b| b.1.total_ms.total_cmp(&a.1.total_ms).then(a.0.cmp(b.0)));
    ids.into_iter().take(limit).map(|(id, _)| *id).collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(entries: &[(i64, i64, f64)]) -> Counters {
        Counters {
            by_query: entries
                .iter()
                .map(|&(id, calls, ms)| {
                    let c = Counter {
                        calls,
                        total_ms: ms,
                        rows: calls,
                    };
                    (id, c)
                })
                .collect(),
        }
    }

    #[test]
    fn deltas_count_new_and_reset_entries_from_zero_and_drop_idle_ones() {
        let before = counters(&[(1, 10, 100.0), (2, 5, 50.0), (3, 100, 1000.0)]);
        let after = counters(&[(1, 30, 400.0), (2, 5, 50.0), (3, 2, 20.0), (4, 1, 5.0)]);
        let d = after.since(&before);
        assert_eq!(d.by_query[&1].calls, 20);
        assert_eq!(d.by_query[&1].total_ms, 300.0);
        assert!(!d.by_query.contains_key(&2), "no calls in the window");
        assert_eq!(d.by_query[&3].calls, 2, "reset: from zero");
        assert_eq!(d.by_query[&4].calls, 1, "new");
    }

    #[test]
    fn top_by_time_with_rates_shares_and_the_refresh_filter() {
        let c = counters(&[(1, 20, 300.0), (2, 4, 100.0), (3, 1, 0.0)]);
        let texts: HashMap<i64, String> = [
            (1, "SELECT 1".to_string()),
            (2, "REFRESH MATERIALIZED VIEW rpt.m".to_string()),
        ]
        .into();
        let t = top(&c, &texts, Some(10.0), 2, false);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].queryid, 1);
        assert_eq!(t[0].calls_per_s, Some(2.0));
        assert_eq!(t[0].mean_ms, 15.0);
        assert_eq!(t[0].share, 0.75);
        let r = top(&c, &texts, None, 10, true);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].refresh_of.as_deref(), Some("rpt.m"));
        assert_eq!(r[0].calls_per_s, None);
        assert_eq!(heaviest(&c, 1), [1]);
    }

    #[test]
    fn counters_read_the_columns_of_the_server_version() {
        let src = |v| PssSource {
            schema: "Stats".into(),
            version_num: v,
        };
        let pg12 = src(120015).counters_sql();
        assert!(pg12.contains("sum(s.total_time)") && !pg12.contains("AND s.toplevel"));
        assert!(pg12.contains("FROM \"Stats\".pg_stat_statements(false) s"));
        let pg15 = src(150000).counters_sql();
        assert!(pg15.contains("sum(s.total_exec_time)") && pg15.contains("AND s.toplevel"));
        assert!(!src(130000).texts_sql().contains('{'));
    }

    #[test]
    fn every_refusal_says_what_to_do() {
        let mut f = crate::catalog::ServerFacts {
            version_num: 150000,
            version: "15".into(),
            in_recovery: false,
            role: "Report Reader".into(),
            database: "db".into(),
            track_commit_timestamp: false,
            pss_schema: None,
            pss_preloaded: Some(true),
            reads_all_stats: false,
            stats_since: None,
            mv_count: 0,
            mv_xmin_sum: "0".into(),
            ledger_installed: false,
            ledger_outdated: false,
            ledger_version: None,
        };
        let line = |f: &crate::catalog::ServerFacts| match access(f) {
            PssAccess::Unavailable(l) => l,
            PssAccess::Usable { note, .. } => note.unwrap_or_default(),
        };
        assert!(line(&f).contains("CREATE EXTENSION pg_stat_statements"));
        f.pss_preloaded = Some(false);
        assert!(line(&f).contains("shared_preload_libraries"));
        assert!(line(&f).contains("CREATE EXTENSION"));
        f.pss_schema = Some("public".into());
        assert!(line(&f).contains("shared_preload_libraries"));
        f.pss_preloaded = None;
        assert_eq!(
            line(&f),
            "only the statements of role Report Reader are visible: \
             GRANT pg_read_all_stats TO \"Report Reader\";"
        );
        f.reads_all_stats = true;
        assert!(matches!(access(&f), PssAccess::Usable { note: None, .. }));
    }
}

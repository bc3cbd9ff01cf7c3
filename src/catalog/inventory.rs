//! Every materialized view the role can see, with what PostgreSQL itself can tell about it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::graph;
use super::ident::quote_ident;
use super::server::{PssAvailability, ServerFacts};

const INVENTORY_SQL: &str = include_str!("../../assets/sql/inventory.sql");
const PSS_STATS_SQL: &str = include_str!("../../assets/sql/refresh_stats_pss.sql");

/// Where a refresh figure comes from; every figure carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsSource {
    Ledger,
    PgStatStatements,
    CommitTimestamp,
}

/// What the MV's state is, as far as this source of information can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MvStatus {
    /// Created or refreshed `WITH NO DATA`: reading it is an error.
    NeverPopulated,
    /// A REFRESH of it is running now.
    Refreshing,
    /// Populated; whether its base tables changed since is not known from the catalog alone.
    Populated,
}

impl MvStatus {
    pub fn label(self) -> &'static str {
        match self {
            MvStatus::NeverPopulated => "never populated",
            MvStatus::Refreshing => "refreshing",
            MvStatus::Populated => "populated",
        }
    }
}

/// One materialized view. Field names are the JSON contract of `mvtop list`: later work
/// adds fields, never renames them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatView {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `schema.name`, quoted only where SQL needs it.
    pub qualified_name: String,
    pub owner: String,
    pub populated: bool,
    /// Null while an ACCESS EXCLUSIVE lock is held or queued on it (sizing would wait).
    pub total_bytes: Option<i64>,
    pub heap_bytes: Option<i64>,
    pub index_bytes: Option<i64>,
    pub size_skipped_locked: bool,
    pub rows_estimate: Option<i64>,
    pub concurrent_ready: bool,
    /// The unique index that makes REFRESH CONCURRENTLY possible.
    pub unique_index: Option<String>,
    /// Relations it reads directly.
    pub depends_on: Vec<String>,
    pub depends_on_functions: Vec<String>,
    /// MVs it reads, directly or through plain views.
    pub upstream_mvs: Vec<String>,
    pub downstream_mvs: Vec<String>,
    pub in_cycle: bool,
    /// Refresh in ascending level order: upstream MVs first.
    pub refresh_level: u32,
    pub refreshing_pids: Vec<i32>,
    pub last_refresh: Option<DateTime<Utc>>,
    pub last_refresh_source: Option<StatsSource>,
    pub last_refresh_ms: Option<f64>,
    pub avg_refresh_ms: Option<f64>,
    pub max_refresh_ms: Option<f64>,
    pub refresh_count: Option<i64>,
    pub refresh_stats_source: Option<StatsSource>,
    pub status: MvStatus,
    /// Null while it, or a relation it reads, is under an ACCESS EXCLUSIVE lock: reading the
    /// definition locks them all and would wait.
    pub definition: Option<String>,
    pub definition_skipped_locked: bool,
    #[serde(skip)]
    pub upstream_oids: Vec<u32>,
}

/// The inventory plus the one-line notes about sources that could not be used.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub views: Vec<MatView>,
    pub hints: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PssStats {
    calls: i64,
    avg_ms: Option<f64>,
    max_ms: Option<f64>,
}

impl Inventory {
    /// The catalog query and the pg_stat_statements query go out pipelined: one round trip.
    pub async fn fetch(
        client: &Client,
        facts: &ServerFacts,
    ) -> Result<Inventory, tokio_postgres::Error> {
        let mut hints = Vec::new();
        let pss_sql = match facts.pss() {
            PssAvailability::Usable { schema } => Some(pss_stats_sql(&schema, facts.version_num)),
            PssAvailability::Missing(why) => {
                hints.push(why);
                None
            }
        };
        let catalog = client.query(INVENTORY_SQL, &[]);
        let stats = async {
            match &pss_sql {
                Some(sql) => Some(client.query(sql.as_str(), &[]).await),
                None => None,
            }
        };
        let (rows, stats) = tokio::join!(catalog, stats);
        let stats = match stats {
            Some(Ok(rows)) => rows
                .iter()
                .map(|r| {
                    let oid: u32 = r.get("oid");
                    let s = PssStats {
                        calls: r.get("calls"),
                        avg_ms: r.get("avg_ms"),
                        max_ms: r.get("max_ms"),
                    };
                    (oid, s)
                })
                .collect(),
            Some(Err(e)) => {
                hints.push(format!(
                    "pg_stat_statements unreadable ({}): no refresh durations",
                    crate::pgconn::one_line(&e)
                ));
                HashMap::new()
            }
            None => HashMap::new(),
        };
        if !facts.reads_all_stats && pss_sql.is_some() {
            hints.push(
                "role lacks pg_read_all_stats: refreshes run by other roles are not counted".into(),
            );
        }
        if !facts.track_commit_timestamp {
            hints.push(
                "track_commit_timestamp is off and no ledger is installed: last refresh times unknown"
                    .into(),
            );
        }
        let mut views: Vec<MatView> = rows?.iter().map(from_row).collect();
        for v in &mut views {
            if let Some(s) = stats.get(&v.oid) {
                v.refresh_count = Some(s.calls);
                v.avg_refresh_ms = s.avg_ms.map(round1);
                v.max_refresh_ms = s.max_ms.map(round1);
                v.refresh_stats_source = Some(StatsSource::PgStatStatements);
            }
        }
        link_graph(&mut views);
        Ok(Inventory { views, hints })
    }
}

fn round1(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
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

fn from_row(r: &tokio_postgres::Row) -> MatView {
    let populated: bool = r.get("populated");
    let concurrent_keys: Option<Vec<String>> = r.get("concurrent_keys");
    let unique_index = concurrent_keys.and_then(|k| k.into_iter().next());
    let refreshing_pids: Vec<i32> = r
        .get::<_, Option<Vec<i32>>>("refreshing_pids")
        .unwrap_or_default();
    let last_refresh: Option<DateTime<Utc>> = r.get("committed_at");
    let status = if !refreshing_pids.is_empty() {
        MvStatus::Refreshing
    } else if !populated {
        MvStatus::NeverPopulated
    } else {
        MvStatus::Populated
    };
    MatView {
        oid: r.get("oid"),
        schema: r.get("schema"),
        name: r.get("name"),
        qualified_name: r.get("qualified_name"),
        owner: r.get("owner"),
        populated,
        total_bytes: r.get("total_bytes"),
        heap_bytes: r.get("heap_bytes"),
        index_bytes: r.get("index_bytes"),
        size_skipped_locked: r.get("exclusively_locked"),
        rows_estimate: if populated {
            r.get("rows_estimate")
        } else {
            None
        },
        concurrent_ready: populated && unique_index.is_some(),
        unique_index,
        depends_on: r
            .get::<_, Option<Vec<String>>>("direct_deps")
            .unwrap_or_default(),
        depends_on_functions: r
            .get::<_, Option<Vec<String>>>("func_deps")
            .unwrap_or_default(),
        upstream_mvs: Vec::new(),
        downstream_mvs: Vec::new(),
        in_cycle: false,
        refresh_level: 0,
        refreshing_pids,
        last_refresh_source: last_refresh.map(|_| StatsSource::CommitTimestamp),
        last_refresh,
        last_refresh_ms: None,
        avg_refresh_ms: None,
        max_refresh_ms: None,
        refresh_count: None,
        refresh_stats_source: None,
        status,
        definition: r.get("definition"),
        definition_skipped_locked: r.get("definition_skipped_locked"),
        upstream_oids: r
            .get::<_, Option<Vec<u32>>>("upstream_oids")
            .unwrap_or_default(),
    }
}

/// Fills levels, cycles, and upstream/downstream names from the upstream oids.
fn link_graph(views: &mut [MatView]) {
    let oids: Vec<u32> = views.iter().map(|v| v.oid).collect();
    let ups: Vec<Vec<u32>> = views.iter().map(|v| v.upstream_oids.clone()).collect();
    let facts = graph::analyse(&oids, &ups);
    let names: HashMap<u32, String> = views
        .iter()
        .map(|v| (v.oid, v.qualified_name.clone()))
        .collect();
    let named = |list: &[u32], own: u32| -> Vec<String> {
        let mut out: Vec<String> = list
            .iter()
            .filter(|&&o| o != own)
            .filter_map(|o| names.get(o).cloned())
            .collect();
        out.sort();
        out
    };
    for (v, f) in views.iter_mut().zip(facts) {
        v.upstream_mvs = named(&v.upstream_oids, v.oid);
        v.downstream_mvs = named(&f.downstream, v.oid);
        v.in_cycle = f.in_cycle;
        v.refresh_level = f.level;
    }
}

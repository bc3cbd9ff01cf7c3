//! The catalog part of the inventory: names, readiness, dependencies, base tables and the
//! locks held on each MV now, from flat catalog reads joined here.
//!
//! Why not one query: on catalogs nobody analyzed yet (after a burst of DDL, a restore, a
//! `pg_upgrade`) the planner expects about one MV, and every join of two derived sets in
//! SQL became a nested loop that rescans all MVs for each MV: 8.9 s on 5,000 MVs where
//! `\dm+` took 0.3 s. Each read here is one catalog scan that probes others only by their
//! unique oid index, so its cost follows the catalog's size whatever the statistics say
//! (`tests/cold_catalogs.rs` checks every plan). The walk through views is done here.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::inventory::{MatView, StatsSource};

const MATVIEWS_SQL: &str = include_str!("../../assets/sql/inventory_matviews.sql");
const NAMESPACES_SQL: &str = include_str!("../../assets/sql/inventory_namespaces.sql");
const EDGES_SQL: &str = include_str!("../../assets/sql/inventory_edges.sql");
const UNIQUE_KEYS_SQL: &str = include_str!("../../assets/sql/inventory_unique_keys.sql");
const LOCKS_SQL: &str = include_str!("../../assets/sql/inventory_locks.sql");

/// One thing a view or MV reads directly.
#[derive(Debug, Clone, PartialEq)]
struct Edge {
    relid: u32,
    dep: u32,
    /// A relation: its relkind (`v`, `m`, `r`, `p`, `f`, ...); None for a function.
    kind: Option<char>,
    /// Its schema's oid and its own name, for ordering as SQL would (`name` sorts bytewise).
    namespace: u32,
    relname: String,
    /// As SQL writes it: `schema.name` quoted where needed, or `func(args)`.
    name: String,
    /// Leaf partitions of a partitioned table.
    leaves: Vec<u32>,
}

/// The MVs with everything the catalog says about them, levels and downstream MVs included.
pub async fn read(client: &Client) -> Result<Vec<MatView>, tokio_postgres::Error> {
    // Two round trips: the MVs' oids drive the read of their unique keys.
    let listed = list(client).await?;
    let oids: Vec<u32> = listed.views.iter().map(|v| v.oid).collect();
    let links = links(client, &oids).await?;
    Ok(assemble(listed, links))
}

/// The MVs by name, and the schemas' names: enough to share out the per-MV work while the
/// rest of the catalog is read.
#[derive(Debug)]
pub struct Listed {
    pub views: Vec<MatView>,
    namespaces: HashMap<u32, String>,
}

/// What the MVs read, their unique keys, the locks on them.
#[derive(Debug)]
pub struct Links {
    edges: Vec<Edge>,
    unique_keys: HashMap<u32, Vec<String>>,
    locks: Vec<(u32, i32, bool)>,
}

pub async fn list(client: &Client) -> Result<Listed, tokio_postgres::Error> {
    let (mvs, namespaces) = tokio::try_join!(
        super::rows::map_rows(client, MATVIEWS_SQL, &[], |r| {
            let populated: bool = r.get("populated");
            let last_refresh: Option<DateTime<Utc>> = r.get("committed_at");
            let view = MatView {
                owner: r.get("owner"),
                populated,
                rows_estimate: if populated {
                    r.get("rows_estimate")
                } else {
                    None
                },
                last_refresh_source: last_refresh.map(|_| StatsSource::CommitTimestamp),
                last_refresh,
                row_version: r.get("row_version"),
                ..MatView::named(
                    r.get("oid"),
                    String::new(),
                    r.get("name"),
                    r.get("qualified_name"),
                )
            };
            (r.get::<_, u32>("namespace"), view)
        }),
        client.query(NAMESPACES_SQL, &[]),
    )?;
    let namespaces: HashMap<u32, String> = namespaces
        .iter()
        .map(|r| (r.get("oid"), r.get("name")))
        .collect();
    let mut views: Vec<MatView> = mvs
        .into_iter()
        .map(|(namespace, mut view)| {
            view.schema = namespaces.get(&namespace).cloned().unwrap_or_default();
            view
        })
        .collect();
    // As SQL sorts them: `name` compares bytewise. (schema, name) is unique, so an unstable
    // sort orders the same, without the stable sort's copy of every MV (3 MB at 5,000).
    views.sort_unstable_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Ok(Listed { views, namespaces })
}

/// `mvs`: the oids `list` found.
pub async fn links(client: &Client, mvs: &[u32]) -> Result<Links, tokio_postgres::Error> {
    let oids: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&mvs];
    let (edges, keys, locks) = tokio::try_join!(
        super::rows::map_rows(client, EDGES_SQL, &[], |r| Edge {
            relid: r.get("relid"),
            dep: r.get("dep"),
            kind: r
                .get::<_, Option<String>>("dep_kind")
                .and_then(|k| k.chars().next()),
            namespace: r.get::<_, Option<u32>>("dep_namespace").unwrap_or(0),
            relname: r
                .get::<_, Option<String>>("dep_relname")
                .unwrap_or_default(),
            name: r.get::<_, Option<String>>("dep_name").unwrap_or_default(),
            leaves: r.get::<_, Option<Vec<u32>>>("leaves").unwrap_or_default(),
        }),
        client.query(UNIQUE_KEYS_SQL, &oids),
        client.query(LOCKS_SQL, &[]),
    )?;
    let mut unique_keys: HashMap<u32, Vec<String>> = HashMap::new();
    for r in &keys {
        unique_keys
            .entry(r.get("oid"))
            .or_default()
            .push(r.get("index_name"));
    }
    let locks = locks
        .iter()
        .map(|r| (r.get("oid"), r.get("pid"), r.get("refreshing")))
        .collect();
    Ok(Links {
        edges,
        unique_keys,
        locks,
    })
}

/// The two halves joined: dependencies, keys and locks on each MV, then the graph.
pub fn assemble(listed: Listed, links: Links) -> Vec<MatView> {
    let Listed {
        mut views,
        namespaces,
    } = listed;
    link(
        &mut views,
        &links.edges,
        &namespaces,
        links.unique_keys,
        &links.locks,
    );
    super::inventory::link_graph(&mut views);
    views
}

/// Fills what each MV reads (directly, and through plain views), its unique key and the
/// locks on it.
fn link(
    views: &mut [MatView],
    edges: &[Edge],
    namespaces: &HashMap<u32, String>,
    mut unique_keys: HashMap<u32, Vec<String>>,
    locks: &[(u32, i32, bool)],
) {
    let mut reads: HashMap<u32, Vec<&Edge>> = HashMap::new();
    for e in edges {
        reads.entry(e.relid).or_default().push(e);
    }
    let mut holders: HashMap<u32, Vec<i32>> = HashMap::new();
    let mut refreshing: HashMap<u32, Vec<i32>> = HashMap::new();
    for &(oid, pid, is_refresh) in locks {
        holders.entry(oid).or_default().push(pid);
        if is_refresh {
            refreshing.entry(oid).or_default().push(pid);
        }
    }
    let sorted = |mut pids: Vec<i32>| {
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    for v in views.iter_mut() {
        let direct = reads.get(&v.oid).map(Vec::as_slice).unwrap_or_default();
        let mut relations: Vec<&&Edge> = direct.iter().filter(|e| e.kind.is_some()).collect();
        let schema_of = |e: &Edge| namespaces.get(&e.namespace).cloned().unwrap_or_default();
        relations.sort_by_cached_key(|e| (schema_of(e), e.relname.clone()));
        v.depends_on = relations.iter().map(|e| e.name.clone()).collect();
        let mut functions: Vec<String> = direct
            .iter()
            .filter(|e| e.kind.is_none())
            .map(|e| e.name.clone())
            .collect();
        functions.sort();
        functions.dedup();
        v.depends_on_functions = functions;
        let (upstream, bases) = walk_views(v.oid, &reads);
        v.upstream_oids = upstream;
        v.base_tables = bases;
        let mut keys = unique_keys.remove(&v.oid).unwrap_or_default();
        keys.sort();
        v.unique_index = keys.into_iter().next();
        v.concurrent_ready = v.populated && v.unique_index.is_some();
        let held = sorted(holders.remove(&v.oid).unwrap_or_default());
        v.lock_holders = held.len() as i64;
        v.lock_holder_pids = held;
        v.refreshing_pids = sorted(refreshing.remove(&v.oid).unwrap_or_default());
    }
}

/// From an MV through plain views: the MVs it reads (itself when a view leads back to it:
/// a cycle) and the tables whose writes make it stale (a partitioned table's leaves).
fn walk_views(mv: u32, reads: &HashMap<u32, Vec<&Edge>>) -> (Vec<u32>, Vec<u32>) {
    let mut upstream = HashSet::new();
    let mut bases = HashSet::new();
    let mut seen = HashSet::from([mv]);
    let mut stack: Vec<u32> = vec![mv];
    while let Some(at) = stack.pop() {
        for e in reads.get(&at).map(Vec::as_slice).unwrap_or_default() {
            match e.kind {
                Some('m') => {
                    upstream.insert(e.dep);
                }
                Some('r') => {
                    bases.insert(e.dep);
                }
                Some('p') if e.leaves.is_empty() => {
                    bases.insert(e.dep);
                }
                Some('p') => bases.extend(&e.leaves),
                Some('v') if seen.insert(e.dep) => stack.push(e.dep),
                _ => {}
            }
        }
    }
    let mut upstream: Vec<u32> = upstream.into_iter().collect();
    upstream.sort_unstable();
    let mut bases: Vec<u32> = bases.into_iter().collect();
    bases.sort_unstable();
    (upstream, bases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(relid: u32, dep: u32, kind: char) -> Edge {
        Edge {
            relid,
            dep,
            kind: Some(kind),
            namespace: 0,
            relname: String::new(),
            name: String::new(),
            leaves: Vec::new(),
        }
    }

    fn graph(edges: &[Edge]) -> HashMap<u32, Vec<&Edge>> {
        let mut reads: HashMap<u32, Vec<&Edge>> = HashMap::new();
        for e in edges {
            reads.entry(e.relid).or_default().push(e);
        }
        reads
    }

    #[test]
    fn walks_through_views_only() {
        // mv 1 reads view 10, which reads table 20 and mv 2; mv 2 reads table 21
        let edges = [
            edge(1, 10, 'v'),
            edge(10, 20, 'r'),
            edge(10, 2, 'm'),
            edge(2, 21, 'r'),
        ];
        let reads = graph(&edges);
        assert_eq!(walk_views(1, &reads), (vec![2], vec![20]));
        assert_eq!(walk_views(2, &reads), (vec![], vec![21]));
    }

    #[test]
    fn a_view_leading_back_to_the_mv_is_a_cycle_and_the_walk_ends() {
        // mv 1 reads view 10; view 10 reads view 11 and mv 1; view 11 reads view 10
        let edges = [
            edge(1, 10, 'v'),
            edge(10, 11, 'v'),
            edge(10, 1, 'm'),
            edge(11, 10, 'v'),
        ];
        assert_eq!(walk_views(1, &graph(&edges)), (vec![1], vec![]));
    }

    #[test]
    fn partitioned_tables_count_by_their_leaves() {
        let mut p = edge(1, 30, 'p');
        p.leaves = vec![32, 31];
        let empty = edge(1, 40, 'p');
        let edges = [p, empty, edge(1, 50, 'f')];
        assert_eq!(walk_views(1, &graph(&edges)), (vec![], vec![31, 32, 40]));
    }
}

//! The inventory against a real cluster: every case `mvtop list` must get right.

mod common;

use std::time::Duration;

use mvtop::catalog::{Inventory, MatView, MvStatus, StatsSource};
use mvtop::inventory::FetchOptions;

const FIXTURE: &str = r#"
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA app;
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
CREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric NOT NULL);
CREATE TABLE app.customers (id int PRIMARY KEY, region text NOT NULL);
INSERT INTO app.customers SELECT g, (ARRAY['eu','us','apac'])[1+g%3] FROM generate_series(1,100) g;
INSERT INTO app.orders SELECT g, 1+g%100, g%500 FROM generate_series(1,5000) g;
CREATE VIEW app.v_orders AS SELECT o.id, o.amount, c.region FROM app.orders o JOIN app.customers c ON c.id = o.customer_id;
CREATE MATERIALIZED VIEW rpt.mv_region AS SELECT region, sum(amount) AS total, count(*) AS n FROM app.v_orders GROUP BY region;
CREATE UNIQUE INDEX mv_region_uk ON rpt.mv_region (region);
CREATE MATERIALIZED VIEW rpt.mv_top AS SELECT region, total FROM rpt.mv_region WHERE total > 0;
CREATE UNIQUE INDEX mv_top_partial ON rpt.mv_top (region) WHERE total > 0;
CREATE VIEW app.v_top AS SELECT region, total FROM rpt.mv_top;
CREATE MATERIALIZED VIEW rpt.mv_via_view AS SELECT region FROM app.v_top;
CREATE MATERIALIZED VIEW rpt.mv_expr AS SELECT id, 'k' || id AS k FROM app.orders WHERE id <= 100;
CREATE UNIQUE INDEX mv_expr_uk ON rpt.mv_expr (lower(k));
CREATE MATERIALIZED VIEW rpt.mv_incl AS SELECT id, customer_id FROM app.orders WHERE id <= 100;
CREATE UNIQUE INDEX mv_incl_uk ON rpt.mv_incl (id) INCLUDE (customer_id);
CREATE MATERIALIZED VIEW rpt.mv_empty AS SELECT id FROM app.orders WITH NO DATA;
CREATE UNIQUE INDEX mv_empty_uk ON rpt.mv_empty (id);
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT * FROM rpt.mv_region;
CREATE MATERIALIZED VIEW "Reporting"."top""customers_é" AS SELECT 1 AS x;
-- A view <-> MV cycle: PostgreSQL allows re-pointing the view at the MV that reads it.
CREATE VIEW app.v_cyc AS SELECT 1 AS x;
CREATE MATERIALIZED VIEW rpt.mv_cyc AS SELECT x FROM app.v_cyc;
CREATE OR REPLACE VIEW app.v_cyc AS SELECT x FROM rpt.mv_cyc;
"#;

async fn setup(tag: &str) -> (String, mvtop::pgconn::Session) {
    let (db, s) = common::fresh_db(tag).await;
    s.client.batch_execute(FIXTURE).await.expect("fixture");
    (db, s)
}

fn by_name<'a>(inv: &'a Inventory, qualified: &str) -> &'a MatView {
    inv.views
        .iter()
        .find(|v| v.qualified_name == qualified)
        .unwrap_or_else(|| panic!("{qualified} missing from {:?}", names(inv)))
}

fn names(inv: &Inventory) -> Vec<&str> {
    inv.views
        .iter()
        .map(|v| v.qualified_name.as_str())
        .collect()
}

async fn inventory(s: &mvtop::pgconn::Session) -> Inventory {
    Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .expect("inventory")
}

#[tokio::test]
async fn quoted_names_are_listed_and_qualified_only_where_sql_needs_it() {
    let (_db, s) = setup("quoted").await;
    let inv = inventory(&s).await;
    let sales = by_name(&inv, r#""Reporting"."Sales by Region""#);
    assert_eq!(sales.schema, "Reporting");
    assert_eq!(sales.name, "Sales by Region");
    assert_eq!(sales.upstream_mvs, ["rpt.mv_region"]);
    let odd = by_name(&inv, r#""Reporting"."top""customers_é""#);
    assert_eq!(odd.name, "top\"customers_é");
    assert_eq!(by_name(&inv, "rpt.mv_region").downstream_mvs.len(), 2);
}

#[tokio::test]
async fn concurrent_readiness_follows_postgres_rules() {
    let (_db, s) = setup("concurrent").await;
    let inv = inventory(&s).await;
    let region = by_name(&inv, "rpt.mv_region");
    assert!(region.concurrent_ready);
    assert_eq!(region.unique_index.as_deref(), Some("mv_region_uk"));
    let incl = by_name(&inv, "rpt.mv_incl");
    assert!(incl.concurrent_ready, "INCLUDE columns still qualify");
    for partial_or_expr in ["rpt.mv_top", "rpt.mv_expr"] {
        let v = by_name(&inv, partial_or_expr);
        assert!(!v.concurrent_ready, "{partial_or_expr}");
        assert_eq!(v.unique_index, None, "{partial_or_expr}");
    }
    // Cross-check with the server itself: the claim must match what REFRESH accepts.
    for v in &inv.views {
        let sql = format!(
            "REFRESH MATERIALIZED VIEW CONCURRENTLY {}",
            mvtop::catalog::ident::quote_qualified(&v.schema, &v.name)
        );
        let accepted = s.client.batch_execute(&sql).await.is_ok();
        assert_eq!(accepted, v.concurrent_ready, "{}", v.qualified_name);
    }
}

#[tokio::test]
async fn unpopulated_mv_is_never_populated_and_not_concurrent_ready() {
    let (_db, s) = setup("empty").await;
    let inv = inventory(&s).await;
    let empty = by_name(&inv, "rpt.mv_empty");
    assert!(!empty.populated);
    assert_eq!(empty.status, MvStatus::NeverPopulated);
    assert!(!empty.concurrent_ready);
    assert_eq!(empty.unique_index.as_deref(), Some("mv_empty_uk"));
    assert_eq!(empty.rows_estimate, None);
}

#[tokio::test]
async fn chains_through_views_get_levels_and_both_directions() {
    let (_db, s) = setup("chain").await;
    let inv = inventory(&s).await;
    let region = by_name(&inv, "rpt.mv_region");
    assert_eq!(region.refresh_level, 0);
    assert_eq!(region.depends_on, ["app.v_orders"]);
    let top = by_name(&inv, "rpt.mv_top");
    assert_eq!(top.refresh_level, 1);
    let via = by_name(&inv, "rpt.mv_via_view");
    assert_eq!(via.depends_on, ["app.v_top"]);
    assert_eq!(via.upstream_mvs, ["rpt.mv_top"]);
    assert_eq!(via.refresh_level, 2);
    assert_eq!(
        by_name(&inv, "rpt.mv_top").downstream_mvs,
        ["rpt.mv_via_view"]
    );
    let definition = region.definition.as_deref().unwrap_or_default();
    assert!(
        definition.to_lowercase().contains("group by"),
        "{definition}"
    );
}

#[tokio::test]
async fn sizes_are_skipped_without_waiting_under_an_access_exclusive_lock() {
    let (db, s) = setup("locked").await;
    let holder = common::session(&db).await;
    holder
        .client
        // MVs cannot be LOCKed; a plain REFRESH in an open transaction holds the same lock.
        .batch_execute("BEGIN; REFRESH MATERIALIZED VIEW rpt.mv_region")
        .await
        .expect("lock");
    let inv = tokio::time::timeout(Duration::from_secs(5), inventory(&s))
        .await
        .expect("the inventory must not wait for the lock");
    let region = by_name(&inv, "rpt.mv_region");
    assert_eq!(region.total_bytes, None);
    assert_eq!(region.heap_bytes, None);
    assert!(region.size_skipped_locked);
    let top = by_name(&inv, "rpt.mv_top");
    assert!(
        top.total_bytes.unwrap_or(0) > 0,
        "other MVs are still sized"
    );
    assert!(!top.size_skipped_locked);
    holder
        .client
        .batch_execute("ROLLBACK")
        .await
        .expect("rollback");
}

#[tokio::test]
async fn sizes_add_up_and_rows_are_estimated() {
    let (_db, s) = setup("sizes").await;
    s.client.batch_execute("ANALYZE rpt.mv_incl").await.unwrap();
    let inv = inventory(&s).await;
    let incl = by_name(&inv, "rpt.mv_incl");
    let (total, heap, index) = (
        incl.total_bytes.unwrap(),
        incl.heap_bytes.unwrap(),
        incl.index_bytes.unwrap(),
    );
    assert_eq!(total, heap + index);
    assert!(heap > 0 && index > 0);
    assert_eq!(incl.rows_estimate, Some(100));
}

#[tokio::test]
async fn refresh_figures_come_from_pg_stat_statements_and_commit_timestamps() {
    let (_db, s) = setup("stats").await;
    for _ in 0..3 {
        s.client
            .batch_execute(r#"REFRESH MATERIALIZED VIEW "Reporting"."Sales by Region""#)
            .await
            .unwrap();
    }
    // An unqualified, differently cased spelling is the same MV for pg_stat_statements' reader.
    s.client
        .batch_execute(
            "SET search_path = rpt; refresh materialized view MV_REGION; RESET search_path",
        )
        .await
        .unwrap();
    // pg_stat_statements keeps a leading comment in the text; WITH NO DATA is no refresh.
    s.client
        .batch_execute(
            "-- nightly job\n/* ticket 42 */ REFRESH MATERIALIZED VIEW rpt.mv_incl;
             REFRESH MATERIALIZED VIEW rpt.mv_incl WITH NO DATA",
        )
        .await
        .unwrap();
    let inv = inventory(&s).await;
    assert_eq!(by_name(&inv, "rpt.mv_incl").refresh_count, Some(1));
    let sales = by_name(&inv, r#""Reporting"."Sales by Region""#);
    assert_eq!(sales.refresh_count, Some(3));
    assert_eq!(
        sales.refresh_stats_source,
        Some(StatsSource::PgStatStatements)
    );
    assert!(sales.avg_refresh_ms.unwrap() >= 0.0);
    assert!(sales.last_refresh.is_some());
    assert_eq!(
        sales.last_refresh_source,
        Some(StatsSource::CommitTimestamp)
    );
    let never = by_name(&inv, "rpt.mv_expr");
    assert_eq!(never.refresh_count, None);
    assert_eq!(never.refresh_stats_source, None);
}

#[tokio::test]
async fn a_cycle_through_a_view_is_flagged() {
    let (_db, s) = setup("cycle").await;
    let inv = inventory(&s).await;
    let cyc = by_name(&inv, "rpt.mv_cyc");
    assert!(cyc.in_cycle);
    assert!(
        cyc.upstream_mvs.is_empty(),
        "itself is not listed as upstream"
    );
    assert!(!by_name(&inv, "rpt.mv_region").in_cycle);
}

#[tokio::test]
async fn sharing_the_work_over_two_sessions_gives_the_same_inventory() {
    let (db, s) = setup("shared").await;
    let single = inventory(&s).await;
    let helper_used = std::sync::atomic::AtomicBool::new(false);
    let more = async || {
        helper_used.store(true, std::sync::atomic::Ordering::SeqCst);
        Some(common::session(&db).await)
    };
    let always_share = FetchOptions {
        second_session_from: 0,
        ..FetchOptions::default()
    };
    let shared = Inventory::fetch(&s.client, more, always_share)
        .await
        .unwrap();
    assert!(helper_used.load(std::sync::atomic::Ordering::SeqCst));
    // Write counters move whenever the fixture's writes reach the statistics: not compared.
    let without_counters = |views: &[mvtop::catalog::MatView]| {
        let mut views = views.to_vec();
        views.iter_mut().for_each(|v| v.base_writes = None);
        views
    };
    assert_eq!(
        without_counters(&single.views),
        without_counters(&shared.views)
    );
    assert!(
        single
            .views
            .iter()
            .any(|v| !v.base_tables.is_empty() && v.base_writes.is_some())
    );
    assert!(single.views.iter().all(|v| v.definition.is_some()));
    assert_eq!(single.facts.mv_count as usize, single.views.len());
    let lean = FetchOptions {
        definitions: false,
        ..FetchOptions::default()
    };
    let lean = Inventory::fetch(&s.client, async || None, lean)
        .await
        .unwrap();
    assert!(
        lean.views
            .iter()
            .all(|v| v.definition.is_none() && v.total_bytes.is_some())
    );
}

#[tokio::test]
async fn a_queued_access_exclusive_lock_is_not_waited_for_either() {
    let (db, s) = setup("queued").await;
    let session = || common::session(&db);
    // A reader holds AccessShareLock; a plain REFRESH queues behind it for AccessExclusiveLock.
    let reader = session().await;
    reader
        .client
        .batch_execute("BEGIN; SELECT count(*) FROM rpt.mv_incl")
        .await
        .unwrap();
    let refresher = session().await;
    let refresh = tokio::spawn(async move {
        refresher
            .client
            .batch_execute("SET lock_timeout = '20s'; REFRESH MATERIALIZED VIEW rpt.mv_incl")
            .await
    });
    // Wait until the refresh is really queued.
    for _ in 0..100 {
        let row = s
            .client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'
                 AND relation = 'rpt.mv_incl'::regclass",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let inv = tokio::time::timeout(Duration::from_secs(5), inventory(&s))
        .await
        .expect("the inventory must not queue behind the refresh");
    let incl = by_name(&inv, "rpt.mv_incl");
    assert!(incl.size_skipped_locked && incl.total_bytes.is_none());
    assert!(incl.definition_skipped_locked);
    assert_eq!(
        incl.lock_holders, 1,
        "the reader holds it; the queued refresh does not yet"
    );
    reader.client.batch_execute("COMMIT").await.unwrap();
    refresh
        .await
        .unwrap()
        .expect("the refresh goes through once the reader is done");
}

#[tokio::test]
async fn indexes_say_which_one_makes_concurrently_possible_and_why_others_do_not() {
    let (_db, s) = setup("indexes").await;
    let inv = inventory(&s).await;
    let reasons = |name: &str| {
        let oid = by_name(&inv, name).oid;
        let client = &s.client;
        async move {
            mvtop::catalog::indexes::indexes_of(client, oid)
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.name, i.not_concurrent_because))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        reasons("rpt.mv_region").await,
        [("mv_region_uk".to_string(), None)]
    );
    assert_eq!(
        reasons("rpt.mv_top").await,
        [(
            "mv_top_partial".to_string(),
            Some("partial (has a WHERE clause)".to_string())
        )]
    );
    assert_eq!(
        reasons("rpt.mv_expr").await,
        [(
            "mv_expr_uk".to_string(),
            Some("on an expression".to_string())
        )]
    );
}

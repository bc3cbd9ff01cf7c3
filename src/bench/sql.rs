//! The statements a benchmark sends, built as text from quoted names and the view's
//! definition. Pure, so the quoting and the `{}` substitution are unit-tested.

use crate::catalog::ident::{quote_ident, quote_qualified};

/// The definition as `pg_get_viewdef` gives it, without the trailing `;` (it becomes a
/// subquery).
pub fn trim_statement(sql: &str) -> &str {
    sql.trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// The view side: the definition as a subquery aliased with the relation's own name.
///
/// A plain view is a rewrite rule: PostgreSQL replaces `FROM view` by its definition as a
/// subquery in the range table, so `(definition) AS "name"` is the very query tree a view
/// of that definition would run, planned the same way. It needs no DDL, so it runs in a
/// READ ONLY transaction (a temporary view may not be created there) and leaves nothing
/// behind. The alias is the relation's name, so a `--query` that qualifies columns with
/// it (`WHERE "name".col = 1`) reads the same on both sides.
pub fn view_source(definition: &str, name: &str) -> String {
    format!("({}) AS {}", trim_statement(definition), quote_ident(name))
}

/// The MV side: the MV itself, quoted.
pub fn mv_source(schema: &str, name: &str) -> String {
    quote_qualified(schema, name)
}

/// The user's query with every `{}` replaced by `source`; the default is a full read.
pub fn read_statement(query: Option<&str>, source: &str) -> Result<String, String> {
    match query {
        None => Ok(format!("SELECT * FROM {source}")),
        Some(q) => {
            let q = trim_statement(q);
            if !q.contains("{}") {
                return Err(format!(
                    "--query must contain {{}} where the view or MV goes, e.g. \
                     'SELECT count(*) FROM {{}} WHERE id = 42'; got {q:?}"
                ));
            }
            Ok(q.replace("{}", source))
        }
    }
}

/// The same statement under EXPLAIN, for the server's execution time and buffers.
/// TIMING OFF: the total execution time is still measured, but not every node's, whose
/// clock reads (two per row per node) made a 150 ms aggregate over 360k rows take 195 ms.
pub fn explain(statement: &str) -> String {
    format!("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) {statement}")
}

/// The temporary MV a plain view is measured through, in the view's schema (rolled back).
pub fn create_temporary_mv(schema: &str, name: &str, definition: &str) -> String {
    format!(
        "CREATE MATERIALIZED VIEW {} AS {}",
        quote_qualified(schema, name),
        trim_statement(definition)
    )
}

/// The server's figures from one `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` result.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExplainFigures {
    pub execution_ms: f64,
    pub planning_ms: f64,
    pub rows: i64,
    pub shared_hit: i64,
    pub shared_read: i64,
}

/// Reads `[{"Plan": {...}, "Execution Time": ...}]`; None when the shape is not that.
pub fn parse_explain(json: &serde_json::Value) -> Option<ExplainFigures> {
    let top = json.get(0)?;
    let plan = top.get("Plan")?;
    let int = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
    Some(ExplainFigures {
        execution_ms: top.get("Execution Time")?.as_f64()?,
        planning_ms: int(top, "Planning Time"),
        rows: int(plan, "Actual Rows") as i64,
        shared_hit: int(plan, "Shared Hit Blocks") as i64,
        shared_read: int(plan, "Shared Read Blocks") as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_side_is_the_definition_as_an_aliased_subquery() {
        let def = " SELECT t.v,\n    count(*) AS n\n   FROM t\n  GROUP BY t.v;";
        assert_eq!(
            view_source(def, "top\"customers_é"),
            "(SELECT t.v,\n    count(*) AS n\n   FROM t\n  GROUP BY t.v) AS \"top\"\"customers_é\""
        );
        assert_eq!(
            read_statement(None, &view_source(def, "x")).unwrap(),
            "SELECT * FROM (SELECT t.v,\n    count(*) AS n\n   FROM t\n  GROUP BY t.v) AS \"x\""
        );
    }

    #[test]
    fn queries_substitute_every_placeholder_with_quoted_names() {
        let q = "SELECT count(*) FROM {} a JOIN {} b USING (id) WHERE a.project_id = 42;  ";
        assert_eq!(
            read_statement(Some(q), &mv_source("Reporting", "Sales by Region")).unwrap(),
            "SELECT count(*) FROM \"Reporting\".\"Sales by Region\" a JOIN \
             \"Reporting\".\"Sales by Region\" b USING (id) WHERE a.project_id = 42"
        );
        let e = read_statement(Some("SELECT 1"), "x").unwrap_err();
        assert!(e.contains("{}"), "{e}");
    }

    #[test]
    fn explain_and_create_are_built_from_the_same_text() {
        assert_eq!(
            explain("SELECT * FROM \"s\".\"n\""),
            "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) SELECT * FROM \"s\".\"n\""
        );
        assert_eq!(
            create_temporary_mv("Reporting", "mvtop_bench_1", " SELECT 1;"),
            "CREATE MATERIALIZED VIEW \"Reporting\".\"mvtop_bench_1\" AS SELECT 1"
        );
    }

    #[test]
    fn explain_json_gives_time_rows_and_buffers() {
        let json = serde_json::json!([{
            "Plan": {"Node Type": "Seq Scan", "Actual Rows": 1000,
                     "Shared Hit Blocks": 12, "Shared Read Blocks": 3},
            "Planning Time": 0.1,
            "Execution Time": 2.5
        }]);
        assert_eq!(
            parse_explain(&json),
            Some(ExplainFigures {
                execution_ms: 2.5,
                planning_ms: 0.1,
                rows: 1000,
                shared_hit: 12,
                shared_read: 3
            })
        );
        assert_eq!(parse_explain(&serde_json::json!({})), None);
    }
}

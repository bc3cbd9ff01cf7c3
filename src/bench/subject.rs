//! What is benchmarked: an MV, or a plain view measured as if it were materialized.

use serde::Serialize;
use tokio_postgres::Client;

use crate::catalog::names::parse_qualified_name;
use crate::pgconn::one_line;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    MaterializedView,
    /// Not materialized: measured through a temporary MV that is rolled back.
    View,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `schema.name`, quoted only where SQL needs it.
    pub qualified_name: String,
    pub kind: Kind,
    /// `pg_get_viewdef`: the query the view (or the MV) stands for.
    #[serde(skip)]
    pub definition: String,
    /// MVs only: reading an unpopulated MV is an error, said before anything runs.
    #[serde(skip)]
    pub populated: bool,
}

const SELECT: &str =
    "SELECT c.oid, n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname),
        c.relkind = 'm', pg_get_viewdef(c.oid), c.relkind <> 'm' OR c.relispopulated
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('m', 'v')";

fn subject(r: &tokio_postgres::Row) -> Subject {
    Subject {
        oid: r.get(0),
        schema: r.get(1),
        name: r.get(2),
        qualified_name: r.get(3),
        kind: if r.get(4) {
            Kind::MaterializedView
        } else {
            Kind::View
        },
        definition: r.get(5),
        populated: r.get(6),
    }
}

/// The MV or view of that oid (the console knows its MVs by oid).
pub async fn by_oid(client: &Client, oid: u32) -> Result<Subject, String> {
    let row = client
        .query_opt(&format!("{SELECT} AND c.oid = $1"), &[&oid])
        .await
        .map_err(|e| one_line(&e))?;
    row.as_ref()
        .map(subject)
        .ok_or_else(|| format!("materialized view {oid} no longer exists"))
}

/// Finds the MV or plain view a user-typed name means, with its definition.
pub async fn resolve(client: &Client, text: &str) -> Result<Subject, String> {
    let wanted = parse_qualified_name(text)?;
    let rows = client
        .query(
            &format!(
                "{SELECT} AND c.relname = $2 AND ($1::text IS NULL OR n.nspname = $1) ORDER BY 4"
            ),
            &[&wanted.schema, &wanted.name],
        )
        .await
        .map_err(|e| one_line(&e))?;
    let mut found: Vec<Subject> = rows.iter().map(subject).collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "no materialized view or view named {text} (unquoted names fold to lower case: \
             quote mixed case, e.g. '\"Reporting\".\"Sales\"')"
        )),
        _ => Err(format!(
            "name {text} is ambiguous: {} (qualify it with its schema)",
            found
                .iter()
                .map(|s| s.qualified_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

//! Read-only queries against the catalog, turned into plain types. PostgreSQL alone: the
//! ledger's figures are merged in above, by the top-level `inventory` module.

pub mod cost;
pub mod graph;
pub mod ident;
pub mod indexes;
pub mod inventory;
pub mod locks;
pub mod matviews;
pub mod names;
pub mod per_mv;
pub mod pulse;
pub mod rows;
pub mod server;
pub mod sessions;
pub mod statements;
pub mod status;
pub mod writes;

pub use inventory::{Inventory, MatView, StatsSource};
pub use per_mv::{DetailsCache, Reread};
pub use server::ServerFacts;
pub use status::MvStatus;

/// Whether a schema of that exact name exists.
pub async fn schema_exists(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await?;
    Ok(row.get(0))
}

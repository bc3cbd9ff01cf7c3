//! Reading a catalog query's rows one at a time: each row becomes its value as it
//! arrives, so the rows of a 20,000-MV read are never all in memory beside what they make.

use futures_util::{TryStreamExt, pin_mut};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

/// `client.query(sql, params)` mapped by `f`, without holding every row at once.
pub async fn map_rows<T>(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    mut f: impl FnMut(&Row) -> T,
) -> Result<Vec<T>, tokio_postgres::Error> {
    let stream = client.query_raw(sql, params.iter().copied()).await?;
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(row) = stream.try_next().await? {
        out.push(f(&row));
    }
    Ok(out)
}

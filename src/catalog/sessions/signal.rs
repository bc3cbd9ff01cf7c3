//! The two actions on a session: cancel its query or terminate it (`pg_cancel_backend`,
//! `pg_terminate_backend`).

use tokio_postgres::Client;

/// Cancel the query, or end the whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Cancel,
    Terminate,
}

impl Signal {
    pub fn verb(self) -> &'static str {
        match self {
            Signal::Cancel => "cancel the query of",
            Signal::Terminate => "terminate",
        }
    }
}

/// `pg_cancel_backend` / `pg_terminate_backend` on `pid`; the result in one line, an
/// error ("permission denied ...") as well.
pub async fn signal_backend(client: &Client, pid: i32, signal: Signal) -> Result<String, String> {
    let sql = match signal {
        Signal::Cancel => "SELECT pg_cancel_backend($1)",
        Signal::Terminate => "SELECT pg_terminate_backend($1)",
    };
    let row = client.query_one(sql, &[&pid]).await.map_err(|e| {
        let line = crate::pgconn::one_line(&e);
        // PostgreSQL's own words vary by version ("must be a superuser to ...", "permission
        // denied to ..."); say it plainly.
        if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
            && !line.contains("permission denied")
        {
            format!("pid {pid}: permission denied: {line}")
        } else {
            format!("pid {pid}: {line}")
        }
    })?;
    match (row.get::<_, bool>(0), signal) {
        (true, Signal::Cancel) => Ok(format!("pid {pid}: query cancelled")),
        (true, Signal::Terminate) => Ok(format!("pid {pid}: session terminated")),
        (false, _) => Err(format!(
            "pid {pid}: no such session any more (nothing was signalled)"
        )),
    }
}

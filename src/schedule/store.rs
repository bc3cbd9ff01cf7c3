//! Schedules in the ledger schema, shared by every console and daemon on the database, and
//! the claim that makes each due run happen exactly once among them.

use chrono::{DateTime, NaiveTime, Utc};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::cron::CronSpec;
use super::policy::{Policy, Schedule, Window, convention_for};
use crate::ledger::Ledger;
use crate::refresh::Concurrently;
use crate::refresh::lock;

const COLUMNS: &str = "mv_schema, mv_name, kind, cron, tz, every_ms, quiet_ms, max_stale_ms, \
                       window_start, window_end, concurrent_mode, from_naming, created_at, \
                       last_due, base_writes";

/// A compare-and-set on `last_due`: of all schedulers that read the same row, one wins. None
/// wins while any process holds the MV's refresh lock (a run outlasting its interval).
fn claim_sql() -> String {
    format!(
        "UPDATE {{schema}}.schedule s
   SET last_due = $3, base_writes = coalesce($4, s.base_writes),
       claimed_by = $5, claimed_at = now()
 WHERE s.mv_schema = $1 AND s.mv_name = $2
   AND s.last_due IS NOT DISTINCT FROM $6
   AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE {})",
        lock::held("l", 7, 8)
    )
}

/// What `schedule set` writes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchedule {
    pub mv_schema: String,
    pub mv_name: String,
    pub policy: Policy,
    pub window: Option<Window>,
    pub concurrently: Concurrently,
    /// The base tables' write counters now: a change-driven schedule counts writes from here.
    pub base_writes: Option<i64>,
}

/// Schedules read, and the rows that could not be understood (one line each).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub schedules: Vec<Schedule>,
    pub problems: Vec<String>,
}

impl Ledger {
    pub async fn schedules(&self, client: &Client) -> Result<Loaded, tokio_postgres::Error> {
        let sql = format!("SELECT {COLUMNS} FROM {{schema}}.schedule ORDER BY 1, 2");
        let rows = client.query(&self.sql(&sql), &[]).await?;
        let mut loaded = Loaded::default();
        for r in &rows {
            match from_row(r) {
                Ok(s) => loaded.schedules.push(s),
                Err(e) => loaded.problems.push(e),
            }
        }
        Ok(loaded)
    }

    /// Changes whenever a schedule is added, removed or redefined, not when a run is
    /// claimed: a scheduler reads the schedules again only then (and after a lost claim).
    pub async fn schedules_version(
        &self,
        client: &Client,
    ) -> Result<String, tokio_postgres::Error> {
        let sql = self.sql(
            "SELECT count(*)::text || ':' || coalesce(sum(hashtext(concat_ws('|', mv_schema,
                    mv_name, kind, cron, tz, every_ms, quiet_ms, max_stale_ms, window_start,
                    window_end, concurrent_mode, created_at))::int8), 0)::text
             FROM {schema}.schedule",
        );
        Ok(client.query_one(&sql, &[]).await?.get(0))
    }

    /// Creates or replaces the schedule of one MV. Replacing keeps `last_due` (so a changed
    /// schedule does not fire at once for a run already made).
    pub async fn set_schedule(
        &self,
        client: &Client,
        s: &NewSchedule,
    ) -> Result<(), tokio_postgres::Error> {
        let (cron, tz, every, quiet, max_stale) = policy_columns(&s.policy, s.window);
        let (start, end) = window_columns(s.window);
        let concurrently = concurrently_text(s.concurrently);
        let sql = self.sql(
            "INSERT INTO {schema}.schedule (mv_schema, mv_name, kind, cron, tz, every_ms, \
             quiet_ms, max_stale_ms, window_start, window_end, concurrent_mode, base_writes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (mv_schema, mv_name) DO UPDATE SET
               kind = EXCLUDED.kind, cron = EXCLUDED.cron, tz = EXCLUDED.tz,
               every_ms = EXCLUDED.every_ms, quiet_ms = EXCLUDED.quiet_ms,
               max_stale_ms = EXCLUDED.max_stale_ms, window_start = EXCLUDED.window_start,
               window_end = EXCLUDED.window_end, concurrent_mode = EXCLUDED.concurrent_mode,
               from_naming = false, created_by = session_user,
               base_writes = coalesce({schema}.schedule.base_writes, EXCLUDED.base_writes)",
        );
        client
            .execute(
                &sql,
                &[
                    &s.mv_schema,
                    &s.mv_name,
                    &s.policy.kind(),
                    &cron,
                    &tz,
                    &every,
                    &quiet,
                    &max_stale,
                    &start,
                    &end,
                    &concurrently,
                    &s.base_writes,
                ],
            )
            .await
            .map(|_| ())
    }

    /// Returns whether there was one.
    pub async fn remove_schedule(
        &self,
        client: &Client,
        schema: &str,
        name: &str,
    ) -> Result<bool, tokio_postgres::Error> {
        let sql = self.sql("DELETE FROM {schema}.schedule WHERE mv_schema = $1 AND mv_name = $2");
        Ok(client.execute(&sql, &[&schema, &name]).await? > 0)
    }

    /// Claims the run due at `due` for `s` (as it was read): true for exactly one claimant.
    pub async fn claim(
        &self,
        client: &Client,
        s: &Schedule,
        mv_oid: u32,
        due: DateTime<Utc>,
        base_writes: Option<i64>,
        claimant: &str,
    ) -> Result<bool, tokio_postgres::Error> {
        let n = client
            .execute(
                &self.sql(&claim_sql()),
                &[
                    &s.mv_schema,
                    &s.mv_name,
                    &due,
                    &base_writes,
                    &claimant,
                    &s.last_due,
                    &lock::namespace_param(),
                    &mv_oid,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// The end of the last successful refresh of each of `oids` that has one.
    pub async fn last_refreshes(
        &self,
        client: &Client,
        oids: &[u32],
    ) -> Result<std::collections::HashMap<u32, DateTime<Utc>>, tokio_postgres::Error> {
        if oids.is_empty() {
            return Ok(Default::default());
        }
        let sql = self.sql(
            "SELECT mv_oid, max(finished_at) FROM {schema}.refresh_log
             WHERE mv_oid = ANY($1) AND outcome = 'ok' GROUP BY mv_oid",
        );
        let rows = client.query(&sql, &[&oids]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get(0), r.get::<_, Option<DateTime<Utc>>>(1)?)))
            .collect())
    }

    /// The naming convention's time zone, or None while it is off.
    pub async fn naming_convention(
        &self,
        client: &Client,
    ) -> Result<Option<String>, tokio_postgres::Error> {
        let row = client
            .query_opt(
                &self.sql("SELECT value FROM {schema}.settings WHERE key = 'naming_convention'"),
                &[],
            )
            .await?;
        Ok(row.map(|r| r.get::<_, String>(0)).filter(|v| v != "off"))
    }

    /// On (in `tz`) or off; off removes the schedules it made.
    pub async fn set_naming_convention(
        &self,
        client: &Client,
        tz: Option<&str>,
    ) -> Result<(), tokio_postgres::Error> {
        client
            .execute(
                &self.sql(
                    "INSERT INTO {schema}.settings VALUES ('naming_convention', $1)
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                ),
                &[&tz.unwrap_or("off")],
            )
            .await?;
        if tz.is_none() {
            client
                .execute(
                    &self.sql("DELETE FROM {schema}.schedule WHERE from_naming"),
                    &[],
                )
                .await?;
        }
        Ok(())
    }

    /// Adds convention schedules for the MVs named `*_hourly`, `*_daily`, `*_weekly` that
    /// have none; a schedule set by hand always wins. Returns how many were added. A role that
    /// may not add schedules adds none (the ledger's owner's scheduler will).
    pub async fn sync_naming(
        &self,
        client: &Client,
        mvs: &[(String, String)],
        tz: &str,
    ) -> Result<u64, tokio_postgres::Error> {
        let (mut schemas, mut names, mut crons) = (Vec::new(), Vec::new(), Vec::new());
        for (schema, name) in mvs {
            if let Some(cron) = convention_for(name) {
                schemas.push(schema.as_str());
                names.push(name.as_str());
                crons.push(cron);
            }
        }
        if names.is_empty() {
            return Ok(0);
        }
        let sql = self.sql(
            "INSERT INTO {schema}.schedule (mv_schema, mv_name, kind, cron, tz, from_naming)
             SELECT s, n, 'cron', c, $4, true FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, n, c)
             ON CONFLICT (mv_schema, mv_name) DO NOTHING",
        );
        match client.execute(&sql, &[&schemas, &names, &crons, &tz]).await {
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Ok(0),
            other => other,
        }
    }
}

fn policy_columns(
    policy: &Policy,
    window: Option<Window>,
) -> (
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
) {
    let ms = |d: std::time::Duration| Some(d.as_millis() as i64);
    let window_tz = window.map(|w| w.tz.to_string());
    match policy {
        Policy::Cron(c) => (Some(c.expr.clone()), c.tz.to_string(), None, None, None),
        Policy::Every(d) => (None, window_tz.unwrap_or("UTC".into()), ms(*d), None, None),
        Policy::OnChange { quiet, max_stale } => (
            None,
            window_tz.unwrap_or("UTC".into()),
            None,
            ms(*quiet),
            ms(*max_stale),
        ),
    }
}

fn window_columns(w: Option<Window>) -> (Option<NaiveTime>, Option<NaiveTime>) {
    (w.map(|w| w.start), w.map(|w| w.end))
}

fn concurrently_text(c: Concurrently) -> &'static str {
    match c {
        Concurrently::Auto => "auto",
        Concurrently::Always => "always",
        Concurrently::Never => "never",
    }
}

fn from_row(r: &tokio_postgres::Row) -> Result<Schedule, String> {
    let schema: String = r.get("mv_schema");
    let name: String = r.get("mv_name");
    let tz: String = r.get("tz");
    let ms = |col: &str| -> Option<std::time::Duration> {
        r.get::<_, Option<i64>>(col)
            .map(|v| std::time::Duration::from_millis(v.max(0) as u64))
    };
    let kind: String = r.get("kind");
    let bad = |why: String| format!("schedule of {schema}.{name}: {why}");
    let policy = match kind.as_str() {
        "cron" => {
            let expr: Option<String> = r.get("cron");
            Policy::Cron(Box::new(
                CronSpec::parse(expr.as_deref().unwrap_or(""), &tz).map_err(bad)?,
            ))
        }
        "every" => Policy::Every(ms("every_ms").ok_or_else(|| bad("no interval".into()))?),
        _ => Policy::OnChange {
            quiet: ms("quiet_ms").unwrap_or(super::policy::DEFAULT_QUIET),
            max_stale: ms("max_stale_ms").unwrap_or(super::policy::DEFAULT_MAX_STALE),
        },
    };
    let window = match (
        r.get::<_, Option<NaiveTime>>("window_start"),
        r.get::<_, Option<NaiveTime>>("window_end"),
    ) {
        (Some(start), Some(end)) => Some(Window {
            start,
            end,
            tz: super::cron::parse_tz(&tz).map_err(bad)?,
        }),
        _ => None,
    };
    let concurrently = match r.get::<_, String>("concurrent_mode").as_str() {
        "always" => Concurrently::Always,
        "never" => Concurrently::Never,
        _ => Concurrently::Auto,
    };
    Ok(Schedule {
        mv_schema: schema.clone(),
        mv_name: name.clone(),
        policy,
        window,
        concurrently,
        from_naming: r.get("from_naming"),
        created_at: r.get("created_at"),
        last_due: r.get("last_due"),
        base_writes: r.get("base_writes"),
    })
}

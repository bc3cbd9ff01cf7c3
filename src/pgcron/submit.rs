//! Handing an MV's schedule to pg_cron: one job per MV, named so mvtop finds it again, in the
//! MV's database, whose command is the ledger procedure (the outcome is recorded, failures
//! included). Privileges are pg_cron's: USAGE on schema cron for everything, EXECUTE on
//! `cron.schedule_in_database` (revoked from PUBLIC) for a job in another database than
//! pg_cron's; a refusal names the grant.

use std::time::Duration;

use chrono::{Offset, TimeZone, Utc};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::LEDGER_PROCEDURE;
use super::expr::{self, Features};
use super::jobs::CronJob;
use super::locate::Located;
use crate::catalog::ident::{display_ident, quote_ident, quote_qualified};
use crate::ledger::Ledger;
use crate::pgconn::one_line;
use crate::refresh::Concurrently;

/// Job names are `name` (63 bytes) before pg_cron 1.5: a hash keeps them unique and short,
/// the rest is for people reading `cron.job`.
pub fn job_name(database: &str, schema: &str, name: &str) -> String {
    let key = format!("{database}\0{schema}\0{name}");
    // FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let full = format!(
        "mvtop {:012x} {}.{}",
        h & 0xffff_ffff_ffff,
        database,
        quote_qualified(schema, name)
    );
    crate::pgcron::lexer::truncate_ident(full)
}

/// Whether a job is one mvtop made (for this MV when `for_mv` is given).
pub fn is_mvtops(job: &CronJob, for_mv: Option<(&str, &str)>) -> bool {
    let Some(jobname) = &job.jobname else {
        return false;
    };
    match for_mv {
        Some((schema, name)) => *jobname == job_name(&job.database, schema, name),
        None => jobname.starts_with("mvtop "),
    }
}

/// `CALL "ledger".pg_cron_refresh('"s"."mv"', 'auto')`.
pub fn job_command(ledger: &Ledger, schema: &str, name: &str, c: Concurrently) -> String {
    let mv = quote_qualified(schema, name).replace('\'', "''");
    let mode = match c {
        Concurrently::Auto => "auto",
        Concurrently::Always => "always",
        Concurrently::Never => "never",
    };
    format!(
        "CALL {}.{LEDGER_PROCEDURE}('{mv}', '{mode}')",
        quote_ident(ledger.schema())
    )
}

/// `--every` as pg_cron can run it exactly, or why it cannot.
pub fn every_as_schedule(every: Duration, f: &Features) -> Result<String, String> {
    let secs = every.as_secs();
    let refuse = |why: String| {
        Err(format!(
            "pg_cron cannot run every {} exactly: {why}; use --cron, or leave it to mvtop's \
             scheduler (without --engine pg_cron)",
            crate::format::duration_ms(every.as_millis() as f64)
        ))
    };
    if every.subsec_nanos() != 0 || secs == 0 {
        return refuse("it runs whole seconds or minutes".into());
    }
    if secs < 60 {
        return if f.seconds {
            Ok(format!("{secs} seconds"))
        } else {
            refuse("'N seconds' schedules need pg_cron 1.5 or later".into())
        };
    }
    if !secs.is_multiple_of(60) {
        return refuse("it runs every N seconds below a minute, or on whole minutes".into());
    }
    let minutes = secs / 60;
    if minutes < 60 {
        return if 60u64.is_multiple_of(minutes) {
            Ok(if minutes == 1 {
                "* * * * *".into()
            } else {
                format!("*/{minutes} * * * *")
            })
        } else {
            refuse(format!(
                "*/{minutes} restarts at every hour (the last gap would be {} min)",
                60 % minutes
            ))
        };
    }
    let fixed_offset = zone_has_fixed_offset(f.timezone);
    let zone = f.timezone.name();
    let dst = |what: &str| -> Result<String, String> {
        refuse(format!(
            "{what} in {zone} (cron.timezone) is not a fixed interval across daylight-saving changes"
        ))
    };
    if !minutes.is_multiple_of(60) {
        return refuse("minutes above an hour do not divide a day".into());
    }
    let hours = minutes / 60;
    match hours {
        1 => Ok("0 * * * *".into()),
        h if h < 24 && 24u64.is_multiple_of(h) => {
            if fixed_offset {
                Ok(format!("0 */{h} * * *"))
            } else {
                dst(&format!("every {h}h"))
            }
        }
        24 if fixed_offset => Ok("0 0 * * *".into()),
        168 if fixed_offset => Ok("0 0 * * 0".into()),
        24 | 168 => dst("a day"),
        _ => refuse("only intervals that divide an hour or a day, a day or a week".into()),
    }
}

/// No daylight-saving changes in the years around now.
fn zone_has_fixed_offset(tz: chrono_tz::Tz) -> bool {
    let now = Utc::now();
    let first = tz.offset_from_utc_datetime(&now.naive_utc()).fix();
    (1..=24).all(|k| {
        let t = now + chrono::Duration::days(30 * k);
        tz.offset_from_utc_datetime(&t.naive_utc()).fix() == first
    })
}

/// What `schedule set --engine pg_cron` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub schema: String,
    pub name: String,
    /// pg_cron syntax, checked with the loaded library's features.
    pub schedule: String,
    pub concurrently: Concurrently,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub jobid: i64,
    pub jobname: String,
    /// False when the job existed and was deactivated (pg_cron's upsert keeps `active`).
    pub active: bool,
    pub note: Option<String>,
}

/// Creates or updates the job on `cron` (a session on pg_cron's database).
pub async fn submit(
    cron: &Client,
    located: &Located,
    ledger: &Ledger,
    s: &Submission,
) -> Result<Submitted, String> {
    let parsed = expr::parse(&s.schedule, &located.features)?;
    let db = &located.shown_database;
    let jobname = job_name(db, &s.schema, &s.name);
    let command = job_command(ledger, &s.schema, &s.name, s.concurrently);
    let role = display_ident(&located.role);
    let result = if located.same_database() {
        cron.query_one(
            "SELECT cron.schedule($1, $2, $3)",
            &[&jobname, &s.schedule, &command],
        )
        .await
    } else {
        if !located.may_schedule_in_database {
            return Err(format!(
                "a pg_cron job for database {} is made in pg_cron's database {} through \
                 cron.schedule_in_database, which is revoked from PUBLIC: GRANT EXECUTE ON \
                 FUNCTION cron.schedule_in_database(text,text,text,text,text,boolean) TO {role}",
                display_ident(db),
                display_ident(&located.database)
            ));
        }
        cron.query_one(
            "SELECT cron.schedule_in_database($1, $2, $3, $4)",
            &[&jobname, &s.schedule, &command, db],
        )
        .await
    };
    let jobid: i64 = match result {
        Ok(row) => row.get(0),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            return Err(format!(
                "pg_cron refused: {} (scheduling needs USAGE on schema cron: GRANT USAGE ON \
                 SCHEMA cron TO {role}, in database {})",
                one_line(&e),
                display_ident(&located.database)
            ));
        }
        Err(e) => return Err(format!("pg_cron refused: {}", one_line(&e))),
    };
    let active: bool = cron
        .query_opt("SELECT active FROM cron.job WHERE jobid = $1", &[&jobid])
        .await
        .ok()
        .flatten()
        .is_none_or(|r| r.get(0));
    Ok(Submitted {
        jobid,
        jobname,
        active,
        note: parsed.note,
    })
}

/// Removes mvtop's job(s) for the MV; returns the removed job ids.
pub async fn remove(
    cron: &Client,
    jobs: &[CronJob],
    schema: &str,
    name: &str,
) -> Result<Vec<i64>, String> {
    let mut removed = Vec::new();
    for job in jobs.iter().filter(|j| is_mvtops(j, Some((schema, name)))) {
        cron.query_one("SELECT cron.unschedule($1::int8)", &[&job.jobid])
            .await
            .map_err(|e| {
                format!(
                    "pg_cron refused to remove job {}: {}",
                    job.jobid,
                    one_line(&e)
                )
            })?;
        removed.push(job.jobid);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    #[test]
    fn job_names_fit_in_a_name_and_tell_mvs_apart() {
        let long = "é".repeat(31);
        let a = job_name("db", &long, &long);
        assert!(a.len() <= 63, "{}", a.len());
        assert_ne!(a, job_name("db", &long, &format!("{}x", &long[..60])));
        assert_eq!(a, job_name("db", &long, &long));
        assert!(job_name("db", "reporting", "mv").starts_with("mvtop "));
        assert_ne!(job_name("db1", "s", "n"), job_name("db2", "s", "n"));
    }

    #[test]
    fn the_command_quotes_hostile_names() {
        let c = job_command(
            &Ledger::default(),
            "Report'ing",
            "top\"x",
            Concurrently::Auto,
        );
        assert_eq!(
            c,
            "CALL \"mvtop\".pg_cron_refresh('\"Report''ing\".\"top\"\"x\"', 'auto')"
        );
        let read = crate::pgcron::command::read(&c);
        assert_eq!(read.error, None);
        assert!(
            matches!(&read.actions[0], crate::pgcron::command::Action::Ledger { name, .. }
            if name.schema.as_deref() == Some("Report'ing") && name.name == "top\"x")
        );
    }

    #[test]
    fn every_maps_only_where_exact() {
        let gmt = Features::v1_4();
        let m = |s: u64| every_as_schedule(Duration::from_secs(s), &gmt);
        assert_eq!(m(60).unwrap(), "* * * * *");
        assert_eq!(m(900).unwrap(), "*/15 * * * *");
        assert_eq!(m(3600).unwrap(), "0 * * * *");
        assert_eq!(m(6 * 3600).unwrap(), "0 */6 * * *");
        assert_eq!(m(86400).unwrap(), "0 0 * * *");
        assert_eq!(m(7 * 86400).unwrap(), "0 0 * * 0");
        for bad in [30, 90, 45 * 60, 5 * 3600, 2 * 86400] {
            let e = m(bad).unwrap_err();
            assert!(e.starts_with("pg_cron cannot run every"), "{bad}: {e}");
        }
        assert!(m(30).unwrap_err().contains("1.5"));
        let v16 = Features::v1_6(Tz::GMT);
        assert_eq!(
            every_as_schedule(Duration::from_secs(30), &v16).unwrap(),
            "30 seconds"
        );
        let paris = Features::v1_6("Europe/Paris".parse().unwrap());
        assert_eq!(
            every_as_schedule(Duration::from_secs(3600), &paris).unwrap(),
            "0 * * * *"
        );
        let e = every_as_schedule(Duration::from_secs(86400), &paris).unwrap_err();
        assert!(e.contains("daylight-saving"), "{e}");
    }
}

//! The verdicts of `mvtop doctor`, feature by feature: what each needs, from the role's
//! facts (pure), and what to grant when something is missing.

use serde::Serialize;

use super::RoleFacts;
use crate::catalog::ident::quote_ident;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything the feature needs is there.
    Ok,
    /// It works, for part of what it could cover.
    Partial,
    /// It does not work for this role (or on this server).
    Missing,
}

/// One feature's verdict. Field names are the JSON contract of `mvtop doctor --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub feature: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to grant or do, when something is missing.
    pub needs: Option<String>,
}

fn check(feature: &'static str, status: Status, detail: String, needs: Option<String>) -> Check {
    Check {
        feature,
        status,
        detail,
        needs,
    }
}

/// The verdicts, feature by feature: pure, from the facts.
pub fn checks(f: &RoleFacts) -> Vec<Check> {
    use Status::*;
    let role = quote_ident(&f.role);
    let mut out = Vec::new();

    out.push(if f.mvs_without_usage == 0 {
        check(
            "inventory",
            Ok,
            format!("{} materialized views visible", f.mvs),
            None,
        )
    } else {
        check(
            "inventory",
            Partial,
            format!(
                "{} materialized views, {} of them in schemas without USAGE: listed, but \
                 their rows cannot be read (bench)",
                f.mvs, f.mvs_without_usage
            ),
            Some("GRANT USAGE ON SCHEMA ... to read them".into()),
        )
    });
    out.push(check(
        "sizes",
        Ok,
        "pg_total_relation_size needs no privilege".into(),
        None,
    ));

    let maintain = if f.version_num >= 170000 {
        "ownership of the MV (membership in its owner role) or MAINTAIN on it"
    } else {
        "ownership of the MV (membership in its owner role; MAINTAIN from PostgreSQL 17)"
    };
    out.push(if f.in_recovery {
        check(
            "refresh",
            Missing,
            "the server is a standby: no MV can be refreshed".into(),
            Some("connect to the primary".into()),
        )
    } else if f.mvs_not_refreshable == 0 {
        check(
            "refresh",
            Ok,
            format!(
                "may refresh all {} materialized views{}",
                f.mvs,
                by_maintain(f)
            ),
            None,
        )
    } else {
        let examples = f.not_refreshable_examples.join(", ");
        let more = if f.mvs_not_refreshable > f.not_refreshable_examples.len() as i64 {
            ", ..."
        } else {
            ""
        };
        check(
            "refresh",
            if f.mvs_not_refreshable == f.mvs {
                Missing
            } else {
                Partial
            },
            format!(
                "cannot refresh {} of {} materialized views: {examples}{more}{}",
                f.mvs_not_refreshable,
                f.mvs,
                by_maintain(f)
            ),
            Some(maintain.into()),
        )
    });

    let may_create = f.create_on_database || f.superuser;
    out.push(match (f.ledger_installed, f.ledger_current, may_create) {
        (true, true, _) => check(
            "ledger install",
            Ok,
            format!("installed in schema {}", quote_ident(&f.ledger_schema)),
            None,
        ),
        (_, _, true) => check(
            "ledger install",
            Ok,
            "may install or upgrade it (CREATE on the database)".into(),
            Some(if f.ledger_installed {
                "run mvtop install to upgrade the ledger".into()
            } else {
                "run mvtop install".into()
            }),
        ),
        (installed, _, false) => check(
            "ledger install",
            Missing,
            if installed {
                "the ledger is outdated and this role may not upgrade it".into()
            } else {
                "no ledger, and this role may not create one".into()
            },
            Some(format!(
                "CREATE on the database: GRANT CREATE ON DATABASE ... TO {role}"
            )),
        ),
    });

    let may_event = f.superuser || f.rds_superuser;
    out.push(match (f.event_triggers_installed, may_event) {
        (true, _) => check(
            "event triggers",
            Ok,
            "installed: refreshes by other clients are recorded".into(),
            None,
        ),
        (false, true) => check(
            "event triggers",
            Ok,
            "not installed; this role may install them (mvtop install)".into(),
            None,
        ),
        (false, false) => check(
            "event triggers",
            Missing,
            "not installed: refreshes made outside mvtop are not recorded".into(),
            Some("superuser (rds_superuser on RDS) to run mvtop install".into()),
        ),
    });

    out.push(match f.ledger_readable {
        None => check(
            "ledger read",
            Missing,
            format!("no ledger in schema {}", quote_ident(&f.ledger_schema)),
            Some("mvtop install (history falls back to pg_stat_statements)".into()),
        ),
        Some(true) if f.ledger_recordable == Some(true) => check(
            "ledger read",
            Ok,
            "may read the history and record its own runs".into(),
            None,
        ),
        Some(readable) => check(
            "ledger read",
            Missing,
            format!(
                "{}{}",
                if readable {
                    ""
                } else {
                    "may not read the history; "
                },
                if f.ledger_recordable == Some(true) {
                    ""
                } else {
                    "may not record runs"
                }
            )
            .trim_end_matches("; ")
            .to_string(),
            Some(
                "SELECT and INSERT on the ledger's refresh_log (granted to PUBLIC by install)"
                    .into(),
            ),
        ),
    });

    out.push(match f.schedules_changeable {
        None => check(
            "schedules",
            Missing,
            "no ledger of the current version: no schedules".into(),
            Some("mvtop install".into()),
        ),
        Some(true) => check(
            "schedules",
            Ok,
            "may read and change schedules".into(),
            None,
        ),
        Some(false) => check(
            "schedules",
            Partial,
            format!(
                "may read schedules; only the ledger's owner ({}) changes them",
                f.ledger_owner.as_deref().unwrap_or("unknown")
            ),
            Some("membership in the ledger's owner role".into()),
        ),
    });

    out.push(if f.read_all_stats {
        check(
            "lock waits and others' queries",
            Ok,
            "sees every session's query and wait".into(),
            None,
        )
    } else {
        check(
            "lock waits and others' queries",
            Partial,
            "lock waits are shown; other roles' queries are hidden".into(),
            Some(format!(
                "GRANT pg_read_all_stats TO {role}; (or pg_monitor)"
            )),
        )
    });

    out.push(if f.superuser {
        check("cancel and terminate", Ok, "any session".into(), None)
    } else if f.signal_backend {
        check(
            "cancel and terminate",
            Ok,
            "any session but a superuser's".into(),
            None,
        )
    } else {
        check(
            "cancel and terminate",
            Partial,
            "only this role's own sessions".into(),
            Some(format!("GRANT pg_signal_backend TO {role};")),
        )
    });

    out.push(match (&f.pss_schema, f.pss_preloaded, f.pss_readable) {
        (_, Some(false), _) => check(
            "pg_stat_statements",
            Missing,
            "not in shared_preload_libraries".into(),
            Some(
                "add it to shared_preload_libraries, restart, CREATE EXTENSION pg_stat_statements"
                    .into(),
            ),
        ),
        (None, _, _) => check(
            "pg_stat_statements",
            Missing,
            "not installed in this database".into(),
            Some("CREATE EXTENSION pg_stat_statements; (superuser or database owner)".into()),
        ),
        (Some(_), _, Some(false)) => check(
            "pg_stat_statements",
            Missing,
            "installed, but this role may not read it".into(),
            Some(format!(
                "GRANT SELECT ON pg_stat_statements TO {role}; and EXECUTE on its function"
            )),
        ),
        (Some(schema), preloaded, _) if !f.read_all_stats => check(
            "pg_stat_statements",
            Partial,
            format!(
                "installed in {}{}; only this role's statements are visible",
                quote_ident(schema),
                if preloaded.is_none() {
                    " (preloading unknown to this role)"
                } else {
                    ""
                }
            ),
            Some(format!("GRANT pg_read_all_stats TO {role};")),
        ),
        (Some(schema), _, _) => check(
            "pg_stat_statements",
            Ok,
            format!("installed in {}, preloaded, readable", quote_ident(schema)),
            None,
        ),
    });
    out
}

/// How many of the refreshable MVs the role may refresh only through MAINTAIN, if any.
fn by_maintain(f: &RoleFacts) -> String {
    if f.mvs_by_maintain == 0 {
        String::new()
    } else {
        format!(
            " ({} through MAINTAIN, not as the owner)",
            f.mvs_by_maintain
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superuser() -> RoleFacts {
        RoleFacts {
            role: "postgres".into(),
            version_num: 150000,
            superuser: true,
            create_on_database: true,
            mvs: 3,
            read_all_stats: true,
            signal_backend: true,
            ledger_schema: "mvtop".into(),
            ledger_installed: true,
            ledger_current: true,
            ledger_readable: Some(true),
            ledger_recordable: Some(true),
            schedules_changeable: Some(true),
            ledger_owner: Some("postgres".into()),
            event_triggers_installed: true,
            pss_schema: Some("public".into()),
            pss_preloaded: Some(true),
            pss_readable: Some(true),
            ..RoleFacts::default()
        }
    }

    fn status_of(checks: &[Check], feature: &str) -> Status {
        checks.iter().find(|c| c.feature == feature).unwrap().status
    }

    #[test]
    fn a_superuser_has_everything() {
        let checks = checks(&superuser());
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert!(checks.iter().all(|c| c.needs.is_none()), "{checks:#?}");
    }

    #[test]
    fn an_unprivileged_role_is_told_what_to_grant_for_which_feature() {
        let f = RoleFacts {
            role: "Report Reader".into(),
            superuser: false,
            create_on_database: false,
            mvs_not_refreshable: 3,
            not_refreshable_examples: vec!["a.x".into(), "b.y".into(), "c.z".into()],
            read_all_stats: false,
            signal_backend: false,
            schedules_changeable: Some(false),
            event_triggers_installed: false,
            pss_preloaded: None,
            ..superuser()
        };
        let checks = checks(&f);
        assert_eq!(status_of(&checks, "refresh"), Status::Missing);
        assert_eq!(status_of(&checks, "schedules"), Status::Partial);
        assert_eq!(status_of(&checks, "event triggers"), Status::Missing);
        assert_eq!(status_of(&checks, "cancel and terminate"), Status::Partial);
        let needs = |feature: &str| {
            checks
                .iter()
                .find(|c| c.feature == feature)
                .and_then(|c| c.needs.clone())
                .unwrap()
        };
        assert_eq!(
            needs("lock waits and others' queries"),
            "GRANT pg_read_all_stats TO \"Report Reader\"; (or pg_monitor)"
        );
        assert!(needs("refresh").contains("ownership"));
        let refresh = checks.iter().find(|c| c.feature == "refresh").unwrap();
        assert!(refresh.detail.contains("3 of 3"), "{refresh:?}");
    }
}

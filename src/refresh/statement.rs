//! The one canonical statement text per refresh, and the choice of CONCURRENTLY.

use tokio_postgres::error::SqlState;

use crate::catalog::ident::quote_qualified;

/// `--concurrently auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Concurrently {
    /// CONCURRENTLY when the MV is populated and has a qualifying unique index.
    Auto,
    Always,
    Never,
}

/// How one refresh runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Mode {
    pub concurrently: bool,
    pub with_data: bool,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match (self.concurrently, self.with_data) {
            (_, false) => "with no data",
            (true, true) => "concurrently",
            (false, true) => "plain",
        }
    }

    /// The lock the refresh holds for its whole duration.
    pub fn lock(self) -> &'static str {
        if self.concurrently {
            "ExclusiveLock (readers continue; writers and other refreshes wait)"
        } else {
            "AccessExclusiveLock (every reader waits)"
        }
    }
}

/// What the choice needs to know about the MV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `schema.name`, quoted where SQL needs it, for messages.
    pub qualified_name: String,
    pub populated: bool,
    pub concurrent_ready: bool,
    /// Tables whose write counters are recorded with the refresh (for fresh / stale).
    pub base_tables: Vec<u32>,
}

impl From<&crate::catalog::MatView> for Target {
    fn from(v: &crate::catalog::MatView) -> Target {
        Target {
            oid: v.oid,
            schema: v.schema.clone(),
            name: v.name.clone(),
            qualified_name: v.qualified_name.clone(),
            populated: v.populated,
            concurrent_ready: v.concurrent_ready,
            base_tables: v.base_tables.clone(),
        }
    }
}

/// The mode for `target`, or a one-line reason it cannot be done, before anything runs.
pub fn choose_mode(target: &Target, choice: Concurrently, with_data: bool) -> Result<Mode, String> {
    let concurrently = match (choice, with_data) {
        (Concurrently::Always, false) => {
            return Err("CONCURRENTLY and WITH NO DATA cannot be used together".into());
        }
        (_, false) | (Concurrently::Never, _) => false,
        (Concurrently::Auto, true) => target.concurrent_ready,
        (Concurrently::Always, true) if target.concurrent_ready => true,
        (Concurrently::Always, true) if !target.populated => {
            return Err(format!(
                "{} cannot be refreshed concurrently: it is not populated (refresh it once without CONCURRENTLY)",
                target.qualified_name
            ));
        }
        (Concurrently::Always, true) => {
            return Err(format!(
                "{} cannot be refreshed concurrently: it has no unique index on plain columns \
                 without a WHERE clause (CREATE UNIQUE INDEX ... ON {} (...))",
                target.qualified_name, target.qualified_name
            ));
        }
    };
    Ok(Mode {
        concurrently,
        with_data,
    })
}

/// `REFRESH MATERIALIZED VIEW [CONCURRENTLY] "s"."n" [WITH NO DATA]`: always this text, so
/// pg_stat_statements keeps one entry per MV and mode.
pub fn statement(target: &Target, mode: Mode) -> String {
    format!(
        "REFRESH MATERIALIZED VIEW {}{}{}",
        if mode.concurrently {
            "CONCURRENTLY "
        } else {
            ""
        },
        quote_qualified(&target.schema, &target.name),
        if mode.with_data { "" } else { " WITH NO DATA" }
    )
}

/// From PostgreSQL 17 on, REFRESH (like VACUUM and ANALYZE) runs the MV's query with
/// `search_path = pg_catalog, pg_temp`: a function it calls that names a table or function
/// without its schema no longer finds it. The hint that says so, for an error of that kind
/// on such a server.
pub fn search_path_hint(version_num: i32, code: Option<&SqlState>) -> Option<&'static str> {
    (version_num >= 170000 && names_missing(code)).then_some(
        " (PostgreSQL 17+ refreshes with search_path = pg_catalog, pg_temp: qualify the \
         names in the functions this MV calls with their schema, or give those functions \
         SET search_path)",
    )
}

/// The error says a table or function of that name does not exist.
pub fn names_missing(code: Option<&SqlState>) -> bool {
    code.is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::UNDEFINED_FUNCTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_path_hint_is_for_missing_names_on_17_and_later() {
        let table = Some(&SqlState::UNDEFINED_TABLE);
        assert!(search_path_hint(170000, table).is_some());
        assert!(search_path_hint(180004, Some(&SqlState::UNDEFINED_FUNCTION)).is_some());
        assert_eq!(
            search_path_hint(160014, table),
            None,
            "16 keeps the caller's path"
        );
        assert_eq!(
            search_path_hint(170000, Some(&SqlState::DIVISION_BY_ZERO)),
            None
        );
        assert_eq!(search_path_hint(170000, None), None);
    }

    fn target(populated: bool, ready: bool) -> Target {
        Target {
            oid: 1,
            schema: "Reporting".into(),
            name: "top\"customers_é".into(),
            qualified_name: "\"Reporting\".\"top\"\"customers_é\"".into(),
            populated,
            concurrent_ready: ready,
            base_tables: Vec::new(),
        }
    }

    #[test]
    fn auto_takes_concurrently_only_when_possible() {
        let m = choose_mode(&target(true, true), Concurrently::Auto, true).unwrap();
        assert!(m.concurrently);
        let m = choose_mode(&target(true, false), Concurrently::Auto, true).unwrap();
        assert!(!m.concurrently);
        let m = choose_mode(&target(true, true), Concurrently::Auto, false).unwrap();
        assert_eq!(
            m,
            Mode {
                concurrently: false,
                with_data: false
            }
        );
    }

    #[test]
    fn always_on_an_mv_that_cannot_is_refused_up_front() {
        let e = choose_mode(&target(true, false), Concurrently::Always, true).unwrap_err();
        assert!(e.contains("no unique index"), "{e}");
        let e = choose_mode(&target(false, false), Concurrently::Always, true).unwrap_err();
        assert!(e.contains("not populated"), "{e}");
        assert!(choose_mode(&target(true, true), Concurrently::Always, false).is_err());
        assert!(
            !choose_mode(&target(true, true), Concurrently::Never, true)
                .unwrap()
                .concurrently
        );
    }

    #[test]
    fn statements_are_canonical_and_quoted() {
        let t = target(true, true);
        let conc = Mode {
            concurrently: true,
            with_data: true,
        };
        assert_eq!(
            statement(&t, conc),
            "REFRESH MATERIALIZED VIEW CONCURRENTLY \"Reporting\".\"top\"\"customers_é\""
        );
        let no_data = Mode {
            concurrently: false,
            with_data: false,
        };
        assert_eq!(
            statement(&t, no_data),
            "REFRESH MATERIALIZED VIEW \"Reporting\".\"top\"\"customers_é\" WITH NO DATA"
        );
    }
}

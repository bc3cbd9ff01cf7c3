//! What a pg_cron job's command refreshes: its statements split as PostgreSQL splits them,
//! `REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA]` read as the grammar reads
//! it, `SET search_path` followed for the statements after it, mvtop's own ledger call
//! recognised, and function calls and `DO` blocks kept as "may refresh" with their text.

use super::lexer::{Lexeme, Token, lex};

/// A relation name as written (folded and cut as the server does); no schema: resolved in
/// the job's search path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameRef {
    pub schema: Option<String>,
    pub name: String,
}

/// Where an unqualified name is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchPath {
    /// The job user's own (role and database settings, or the server's default).
    Role,
    /// Set by `SET search_path` earlier in the command (the text after TO / =).
    Set(String),
}

/// One thing the command does to an MV, or may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Refresh {
        name: NameRef,
        path: SearchPath,
        concurrently: bool,
        with_data: bool,
    },
    /// mvtop's own job: `CALL <ledger>.pg_cron_refresh('<mv>', '<concurrently>')`.
    Ledger {
        ledger_schema: String,
        name: NameRef,
        concurrently: String,
    },
    /// A function call or `DO` block; it refreshes an MV only if it says so, which the text
    /// can but need not show: kept with the statement's text, matched by name later.
    MayRefresh { text: String },
}

/// Every action of `command`, in order; `error` when the server would refuse to run any of it
/// (an unterminated quote, a malformed REFRESH: the whole command is parsed before it runs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    pub actions: Vec<Action>,
    pub error: Option<String>,
}

pub fn read(command: &str) -> Reading {
    let lexed = lex(command);
    let mut reading = Reading {
        error: lexed.error.clone(),
        ..Reading::default()
    };
    if reading.error.is_some() {
        return reading;
    }
    let mut path = SearchPath::Role;
    for stmt in lexed.lexemes.split(|l| l.token == Token::Semicolon) {
        if stmt.is_empty() {
            continue;
        }
        let toks: Vec<&Token> = stmt.iter().map(|l| &l.token).collect();
        let text = &command[stmt[0].start..stmt[stmt.len() - 1].end];
        match toks.first() {
            Some(Token::Word(w)) if w == "refresh" => match refresh(&toks) {
                Ok(Some((name, concurrently, with_data))) => {
                    reading.actions.push(Action::Refresh {
                        name,
                        path: path.clone(),
                        concurrently,
                        with_data,
                    })
                }
                Ok(None) => {}
                Err(e) => {
                    reading.error = Some(format!("{e} in {text:?}"));
                    reading.actions.clear();
                    return reading;
                }
            },
            Some(Token::Word(w)) if w == "set" || w == "reset" => {
                if let Some(p) = search_path(stmt, command) {
                    path = p;
                }
            }
            Some(Token::Word(w)) if w == "call" => match ledger_call(&toks) {
                Some(action) => reading.actions.push(action),
                None => reading
                    .actions
                    .push(Action::MayRefresh { text: text.into() }),
            },
            Some(Token::Word(w)) if w == "do" => reading
                .actions
                .push(Action::MayRefresh { text: text.into() }),
            _ if calls_function(&toks) => reading
                .actions
                .push(Action::MayRefresh { text: text.into() }),
            _ => {}
        }
    }
    reading
}

fn word(t: Option<&&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x == w)
}

/// `REFRESH MATERIALIZED VIEW opt_concurrently qualified_name opt_with_data`; Ok(None) for
/// another REFRESH-led statement (there is none today, but the grammar may grow).
type Refreshed = (NameRef, bool, bool);

fn refresh(t: &[&Token]) -> Result<Option<Refreshed>, String> {
    if !(word(t.get(1), "materialized") && word(t.get(2), "view")) {
        return Ok(None);
    }
    let mut i = 3;
    let concurrently = word(t.get(i), "concurrently");
    if concurrently {
        i += 1;
    }
    let (name, next) = qualified_name(t, i).ok_or("syntax error: REFRESH without a valid name")?;
    i = next;
    let with_data = match (t.get(i), t.get(i + 1), t.get(i + 2)) {
        (None, _, _) => true,
        (Some(Token::Word(a)), Some(Token::Word(b)), None) if a == "with" && b == "data" => true,
        (Some(Token::Word(a)), Some(Token::Word(b)), Some(Token::Word(c)))
            if a == "with" && b == "no" && c == "data" && t.len() == i + 3 =>
        {
            false
        }
        _ => return Err("syntax error after the REFRESH's name".into()),
    };
    Ok(Some((name, concurrently, with_data)))
}

/// Words the grammar reserves: never a bare relation name.
const RESERVED: &[&str] = &[
    "with",
    "concurrently",
    "select",
    "from",
    "where",
    "table",
    "all",
    "and",
    "or",
    "not",
    "null",
    "user",
    "current_user",
    "session_user",
    "order",
    "group",
    "limit",
    "as",
];

fn ident(t: Option<&&Token>) -> Option<String> {
    match t {
        Some(Token::Quoted(s)) => Some(s.clone()),
        Some(Token::Word(w)) if !RESERVED.contains(&w.as_str()) => Some(w.clone()),
        _ => None,
    }
}

/// `name`, `schema.name` or `database.schema.name` (the database is the job's own: the server
/// refuses others, "cross-database references are not implemented").
fn qualified_name(t: &[&Token], i: usize) -> Option<(NameRef, usize)> {
    let mut parts = vec![ident(t.get(i))?];
    let mut j = i + 1;
    while matches!(t.get(j), Some(Token::Dot)) {
        parts.push(ident(t.get(j + 1))?);
        j += 2;
    }
    let name = match parts.len() {
        1 => NameRef {
            schema: None,
            name: parts.remove(0),
        },
        2 | 3 => {
            let name = parts.pop()?;
            NameRef {
                schema: parts.pop(),
                name,
            }
        }
        _ => return None,
    };
    Some((name, j))
}

/// `SET [SESSION|LOCAL] search_path {TO|=} ...` or `RESET search_path`; `SET ... DEFAULT`
/// and RESET go back to the role's path. LOCAL outside a transaction block warns and does
/// nothing in PostgreSQL; a job runs its command in one implicit transaction when it has
/// several statements, so LOCAL takes effect there too.
fn search_path(stmt: &[Lexeme], command: &str) -> Option<SearchPath> {
    let t: Vec<&Token> = stmt.iter().map(|l| &l.token).collect();
    if word(t.first(), "reset") {
        return word(t.get(1), "search_path").then_some(SearchPath::Role);
    }
    let mut i = 1;
    if word(t.get(i), "session") || word(t.get(i), "local") {
        i += 1;
    }
    if !word(t.get(i), "search_path") {
        return None;
    }
    i += 1;
    match t.get(i) {
        Some(Token::Word(w)) if w == "to" => {}
        Some(Token::Other(o)) if o == "=" => {}
        _ => return None,
    }
    i += 1;
    if word(t.get(i), "default") && t.len() == i + 1 {
        return Some(SearchPath::Role);
    }
    let first = stmt.get(i)?;
    let last = stmt.last()?;
    Some(SearchPath::Set(command[first.start..last.end].to_string()))
}

/// `CALL schema.pg_cron_refresh('mv', 'mode')`: the command mvtop writes for its jobs.
fn ledger_call(t: &[&Token]) -> Option<Action> {
    let schema = ident(t.get(1))?;
    if !matches!(t.get(2), Some(Token::Dot)) || !word(t.get(3), super::LEDGER_PROCEDURE) {
        return None;
    }
    let (Some(Token::Open), Some(Token::Str(mv)), Some(Token::Comma), Some(Token::Str(mode))) =
        (t.get(4), t.get(5), t.get(6), t.get(7))
    else {
        return None;
    };
    if !matches!(t.get(8), Some(Token::Close)) || t.len() != 9 {
        return None;
    }
    let lexed = lex(mv);
    let inner: Vec<&Token> = lexed.lexemes.iter().map(|l| &l.token).collect();
    let (name, end) = qualified_name(&inner, 0)?;
    (end == inner.len() && name.schema.is_some()).then(|| Action::Ledger {
        ledger_schema: schema,
        name,
        concurrently: mode.clone(),
    })
}

/// A word followed by `(` that is not a keyword taking parentheses: a function call.
fn calls_function(t: &[&Token]) -> bool {
    const NOT_CALLS: &[&str] = &[
        "in", "values", "exists", "any", "all", "some", "array", "row", "over", "filter", "within",
        "using", "on", "as", "cast",
    ];
    t.windows(2).any(|p| {
        matches!((p[0], p[1]), (Token::Word(w), Token::Open) if !NOT_CALLS.contains(&w.as_str()))
            || matches!((p[0], p[1]), (Token::Quoted(_), Token::Open))
    })
}

/// Whether `text` names the MV `schema.name`: its name as a word (any case, quoted or not,
/// or inside a string), so a "may refresh" job is shown only with the MVs it mentions.
pub fn names_mv(text: &str, name: &str) -> bool {
    let lower = text.to_lowercase();
    let needle = name.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(k) = lower[from..].find(&needle) {
        let at = from + k;
        let before = lower[..at].chars().next_back();
        let after = lower[at + needle.len()..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return true;
        }
        from = at + needle.len().max(1);
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refreshes(cmd: &str) -> Vec<(Option<String>, String, bool, bool, SearchPath)> {
        let r = read(cmd);
        assert_eq!(r.error, None, "{cmd}");
        r.actions
            .into_iter()
            .filter_map(|a| match a {
                Action::Refresh {
                    name,
                    path,
                    concurrently,
                    with_data,
                } => Some((name.schema, name.name, concurrently, with_data, path)),
                _ => None,
            })
            .collect()
    }

    fn s(x: &str) -> Option<String> {
        Some(x.into())
    }

    #[test]
    fn every_refresh_shape() {
        use SearchPath::Role;
        assert_eq!(
            refreshes("REFRESH MATERIALIZED VIEW mv_a"),
            vec![(None, "mv_a".into(), false, true, Role)]
        );
        assert_eq!(
            refreshes("refresh materialized view concurrently Reporting.\"Sales by Region\";"),
            vec![(s("reporting"), "Sales by Region".into(), true, true, Role)]
        );
        assert_eq!(
            refreshes(
                "/* nightly */ REFRESH MATERIALIZED VIEW \"Reporting\".\"top\"\"x\" WITH NO DATA; \
                 -- REFRESH MATERIALIZED VIEW commented_out\n\
                 REFRESH MATERIALIZED VIEW db.public.mv_b WITH DATA"
            ),
            vec![
                (s("Reporting"), "top\"x".into(), false, false, Role),
                (s("public"), "mv_b".into(), false, true, Role),
            ]
        );
        // Text in strings, dollar quotes and comments is not a statement.
        assert_eq!(
            refreshes(
                "SELECT 'REFRESH MATERIALIZED VIEW a; '; SELECT $x$ ; REFRESH MATERIALIZED VIEW b $x$; \
                 SELECT E'\\'; REFRESH MATERIALIZED VIEW c'"
            ),
            vec![]
        );
    }

    #[test]
    fn set_search_path_applies_to_what_follows() {
        let r = refreshes(
            "REFRESH MATERIALIZED VIEW a; SET search_path TO \"Reporting\", public; \
             REFRESH MATERIALIZED VIEW b; RESET search_path; REFRESH MATERIALIZED VIEW c",
        );
        assert_eq!(r[0].4, SearchPath::Role);
        assert_eq!(r[1].4, SearchPath::Set("\"Reporting\", public".into()));
        assert_eq!(r[2].4, SearchPath::Role);
    }

    #[test]
    fn a_malformed_refresh_makes_the_whole_command_fail() {
        for bad in [
            "REFRESH MATERIALIZED VIEW",
            "SELECT 1; REFRESH MATERIALIZED VIEW a b",
            "REFRESH MATERIALIZED VIEW with",
            "REFRESH MATERIALIZED VIEW a WITH NO",
            "REFRESH MATERIALIZED VIEW 'a'",
            "REFRESH MATERIALIZED VIEW a.b.c.d",
            "REFRESH MATERIALIZED VIEW \"unterminated",
        ] {
            let r = read(bad);
            assert!(r.error.is_some() && r.actions.is_empty(), "{bad}: {r:?}");
        }
    }

    #[test]
    fn calls_and_do_blocks_may_refresh() {
        let r = read(
            "SELECT refresh_all(); DO $$BEGIN REFRESH MATERIALIZED VIEW x; END$$; SELECT 1; \
             CALL \"mvtop\".pg_cron_refresh('\"Reporting\".\"Sales by Region\"', 'auto')",
        );
        assert_eq!(r.error, None);
        assert!(
            matches!(&r.actions[0], Action::MayRefresh { text } if text == "SELECT refresh_all()")
        );
        assert!(matches!(&r.actions[1], Action::MayRefresh { text } if text.starts_with("DO $$")));
        assert_eq!(
            r.actions[2],
            Action::Ledger {
                ledger_schema: "mvtop".into(),
                name: NameRef {
                    schema: s("Reporting"),
                    name: "Sales by Region".into()
                },
                concurrently: "auto".into(),
            }
        );
        assert_eq!(r.actions.len(), 3, "SELECT 1 calls nothing");
    }

    #[test]
    fn names_mv_matches_whole_words() {
        assert!(names_mv("SELECT refresh('reporting.sales')", "sales"));
        assert!(names_mv(
            "DO $$ REFRESH MATERIALIZED VIEW \"Sales\" $$",
            "Sales"
        ));
        assert!(!names_mv("SELECT refresh('sales_daily')", "sales"));
        assert!(names_mv("SELECT f('störungen_daily')", "Störungen_daily"));
    }
}

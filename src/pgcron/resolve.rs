//! Unqualified names in a job's command, resolved as the server resolves them when the job
//! runs: in the job's database, with the job user's `search_path` (its `ALTER ROLE ... SET`
//! for this database, then for all databases, then the database's own, then the server's
//! default) or the one a `SET search_path` earlier in the command gave. The server is asked:
//! `to_regclass` under that path, in a read-only transaction that is rolled back.

use std::collections::HashMap;

use tokio_postgres::Client;

use super::command::SearchPath;
use super::lexer::{Token, lex};
use crate::catalog::ident::quote_ident;

/// One unqualified name to resolve for a job user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub username: String,
    pub path: SearchPath,
    /// As the server folded it.
    pub name: String,
}

/// The oid each name resolves to (any relation kind: the first in the path wins, as for the
/// REFRESH itself), in the order given; None when nothing of that name is on the path.
pub async fn resolve_unqualified(
    client: &Client,
    lookups: &[Lookup],
) -> Result<Vec<Option<u32>>, tokio_postgres::Error> {
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    let mut paths: HashMap<(String, SearchPath), String> = HashMap::new();
    for l in lookups {
        let key = (l.username.clone(), l.path.clone());
        if paths.contains_key(&key) {
            continue;
        }
        let text = match &l.path {
            SearchPath::Set(p) => p.clone(),
            SearchPath::Role => role_search_path(client, &l.username).await?,
        };
        paths.insert(key, with_user(&text, &l.username));
    }
    client.batch_execute("BEGIN READ ONLY").await?;
    let mut out = Vec::with_capacity(lookups.len());
    let result = async {
        for l in lookups {
            let path = &paths[&(l.username.clone(), l.path.clone())];
            let row = client
                .query_one(
                    "SELECT set_config('search_path', $1, true), to_regclass($2)::oid",
                    &[path, &quote_ident(&l.name)],
                )
                .await?;
            out.push(row.get::<_, Option<u32>>(1));
        }
        Ok::<_, tokio_postgres::Error>(())
    }
    .await;
    let rollback = client.batch_execute("ROLLBACK").await;
    result?;
    rollback?;
    Ok(out)
}

/// The search_path a new session of `username` in the current database starts with.
async fn role_search_path(
    client: &Client,
    username: &str,
) -> Result<String, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT (SELECT substr(c, length('search_path=') + 1)
                       FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                      WHERE c LIKE 'search_path=%'
                        AND s.setrole IN (0, coalesce((SELECT oid FROM pg_roles WHERE rolname = $1), 0))
                        AND s.setdatabase IN (0, (SELECT oid FROM pg_database
                                                  WHERE datname = current_database()))
                      ORDER BY s.setrole <> 0 AND s.setdatabase <> 0 DESC,
                               s.setrole <> 0 DESC
                      LIMIT 1),
                    (SELECT CASE WHEN source IN ('default', 'configuration file',
                                                 'command line', 'environment variable')
                                 THEN reset_val ELSE boot_val END
                       FROM pg_settings WHERE name = 'search_path')",
            &[&username],
        )
        .await?;
    let own: Option<String> = row.get(0);
    let default: Option<String> = row.get(1);
    Ok(own
        .or(default)
        .unwrap_or_else(|| "\"$user\", public".into()))
}

/// `$user` in a path means the session's user: here the job's, not mvtop's.
fn with_user(path: &str, username: &str) -> String {
    let lexed = lex(path);
    let mut parts = Vec::new();
    for l in &lexed.lexemes {
        let part = match &l.token {
            Token::Quoted(s) | Token::Word(s) | Token::Str(s) | Token::Other(s) if s == "$user" => {
                quote_ident(username)
            }
            Token::Quoted(s) | Token::Str(s) => quote_ident(s),
            Token::Word(s) => quote_ident(s),
            _ => continue,
        };
        parts.push(part);
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_user_becomes_the_jobs_user() {
        assert_eq!(with_user("\"$user\", public", "Ann"), "\"Ann\", \"public\"");
        assert_eq!(
            with_user("Reporting, \"Odd \"\"x\"", "u"),
            "\"reporting\", \"Odd \"\"x\""
        );
        assert_eq!(with_user("'a b'", "u"), "\"a b\"");
        assert_eq!(with_user("$user,public", "u"), "\"u\", \"public\"");
    }
}

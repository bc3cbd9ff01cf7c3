//! MV names as users type them on the command line: `schema.name` or a name unique across
//! schemas, with SQL's rules (unquoted parts fold to lower case, `"..."` keeps case and
//! may hold dots, spaces and doubled quotes).

use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

/// An MV a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedMv {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `schema.name`, quoted where SQL needs it.
    pub qualified_name: String,
}

/// Splits `a.b`, `"A b"."c""d"`, `x` into parts; errors are one line.
pub fn parse_qualified_name(text: &str) -> Result<QualifiedName, String> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(format!("unterminated quoted name in {text:?}")),
                }
            }
            if part.is_empty() {
                return Err(format!("zero-length quoted name in {text:?}"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c == '"' || c.is_whitespace() {
                    break;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
            if part.is_empty() {
                return Err(format!(
                    "invalid name {text:?}: expected schema.name or name"
                ));
            }
        }
        parts.push(truncate_identifier(part));
        match chars.next() {
            None => break,
            Some('.') => {}
            Some(_) => {
                return Err(format!(
                    "invalid name {text:?}: expected schema.name or name"
                ));
            }
        }
    }
    match parts.len() {
        1 => Ok(QualifiedName {
            schema: None,
            name: parts.remove(0),
        }),
        2 => Ok(QualifiedName {
            name: parts.remove(1),
            schema: Some(parts.remove(0)),
        }),
        _ => Err(format!(
            "invalid name {text:?}: expected schema.name or name"
        )),
    }
}

/// PostgreSQL's longest identifier in bytes (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Cut as PostgreSQL cuts a longer identifier (at a character boundary), so a name typed
/// in full finds what `CREATE` made of it.
fn truncate_identifier(mut part: String) -> String {
    if part.len() > MAX_IDENTIFIER_BYTES {
        let cut = (0..=MAX_IDENTIFIER_BYTES)
            .rev()
            .find(|&i| part.is_char_boundary(i))
            .unwrap_or(0);
        part.truncate(cut);
    }
    part
}

/// The MV of the inventory a name means; unknown and ambiguous names are one-line errors.
pub fn find_in<'a>(
    views: &'a [crate::catalog::MatView],
    text: &str,
) -> Result<&'a crate::catalog::MatView, String> {
    let wanted = parse_qualified_name(text)?;
    let found: Vec<&crate::catalog::MatView> = views
        .iter()
        .filter(|v| v.name == wanted.name && wanted.schema.as_ref().is_none_or(|s| *s == v.schema))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(unknown(text)),
        many => Err(ambiguous(
            text,
            many.iter().map(|v| v.qualified_name.as_str()),
        )),
    }
}

fn unknown(text: &str) -> String {
    format!(
        "materialized view {text} does not exist (unquoted names fold to lower case: \
         quote mixed case, e.g. '\"Reporting\".\"Sales\"')"
    )
}

fn ambiguous<'a>(text: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    format!(
        "materialized view name {text} is ambiguous: {}",
        candidates.collect::<Vec<_>>().join(", ")
    )
}

/// Finds the MV a name means; unknown and ambiguous names are one-line errors.
pub async fn resolve_mv(client: &Client, text: &str) -> Result<NamedMv, String> {
    let wanted = parse_qualified_name(text)?;
    let rows = client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'm' AND c.relname = $2 AND ($1::text IS NULL OR n.nspname = $1)
             ORDER BY 4",
            &[&wanted.schema, &wanted.name],
        )
        .await
        .map_err(|e| crate::pgconn::one_line(&e))?;
    let found: Vec<NamedMv> = rows
        .iter()
        .map(|r| NamedMv {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            qualified_name: r.get(3),
        })
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one row")),
        0 => Err(unknown(text)),
        _ => Err(ambiguous(
            text,
            found.iter().map(|m| m.qualified_name.as_str()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(schema: Option<&str>, name: &str) -> QualifiedName {
        QualifiedName {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }

    #[test]
    fn long_names_are_cut_like_postgresql_cuts_them() {
        let long = "x".repeat(70);
        assert_eq!(parse_qualified_name(&long).unwrap().name, "x".repeat(63));
        // 2-byte characters: 31 of them fit (62 bytes), the 32nd would not.
        let accents = format!("\"{}\"", "é".repeat(40));
        let name = parse_qualified_name(&format!("s.{accents}")).unwrap().name;
        assert_eq!(name, "é".repeat(31));
    }

    #[test]
    fn unquoted_parts_fold_to_lower_case() {
        assert_eq!(
            parse_qualified_name("Rpt.MV_Region"),
            Ok(q(Some("rpt"), "mv_region"))
        );
        assert_eq!(
            parse_qualified_name("builds_hourly"),
            Ok(q(None, "builds_hourly"))
        );
        assert_eq!(parse_qualified_name("störungen"), Ok(q(None, "störungen")));
    }

    #[test]
    fn quoted_parts_keep_case_dots_spaces_and_quotes() {
        assert_eq!(
            parse_qualified_name(r#""Reporting"."Sales by Region""#),
            Ok(q(Some("Reporting"), "Sales by Region"))
        );
        assert_eq!(
            parse_qualified_name(r#""Reporting"."top""customers_é""#),
            Ok(q(Some("Reporting"), "top\"customers_é"))
        );
        assert_eq!(parse_qualified_name(r#""a.b""#), Ok(q(None, "a.b")));
        assert_eq!(parse_qualified_name(r#"rpt."X""#), Ok(q(Some("rpt"), "X")));
    }

    #[test]
    fn malformed_names_are_errors() {
        for bad in [
            "", "a.b.c", "a.", ".a", r#""open"#, r#""""#, "a b", r#"a"b""#,
        ] {
            assert!(parse_qualified_name(bad).is_err(), "{bad:?}");
        }
    }
}

//! Which MV a `REFRESH MATERIALIZED VIEW` statement names, read from a session's query
//! text and shown as every screen shows names.

/// The MV name a `REFRESH MATERIALIZED VIEW [CONCURRENTLY] name` statement names (leading
/// comments and blanks skipped), quoted only where SQL needs it; None for any other
/// statement.
pub fn refresh_target(query: &str) -> Option<String> {
    let mut rest = query.trim_start();
    // Comments sent before the statement in the same batch.
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            break;
        }
    }
    for want in ["refresh", "materialized", "view"] {
        let (word, after) = rest.split_once(char::is_whitespace)?;
        if !word.eq_ignore_ascii_case(want) {
            return None;
        }
        rest = after.trim_start();
    }
    let mut name = rest;
    let (first, after) = name.split_once(char::is_whitespace).unwrap_or((name, ""));
    if first.eq_ignore_ascii_case("concurrently") {
        name = after.trim_start();
    }
    // The name runs to `;`, `WITH [NO] DATA` or the end; quoted parts may hold anything.
    let mut end = name.len();
    let mut quoted = false;
    for (i, c) in name.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                end = i;
                break;
            }
            c if c.is_whitespace() && !quoted => {
                let tail = name[i..].trim_start();
                if !tail.starts_with('.') && !name[..i].ends_with('.') {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    // Blanks around the dot go; blanks inside quotes stay.
    let mut out = String::new();
    let mut quoted = false;
    for c in name[..end].chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    if out.is_empty() {
        return None;
    }
    // Shown as every screen shows names: quoted only where SQL needs it (mvtop's own
    // statements quote every part).
    Some(match crate::catalog::names::parse_qualified_name(&out) {
        Ok(q) => match q.schema {
            Some(schema) => crate::catalog::ident::display_qualified(&schema, &q.name),
            None => crate::catalog::ident::display_ident(&q.name),
        },
        Err(_) => out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_targets_are_shown_quoted_only_where_needed() {
        let t = |q: &str| refresh_target(q);
        assert_eq!(
            t("REFRESH MATERIALIZED VIEW rpt.by_v"),
            Some("rpt.by_v".into())
        );
        assert_eq!(
            t("refresh materialized view concurrently \"Reporting\".\"Sales by Region\";"),
            Some("\"Reporting\".\"Sales by Region\"".into())
        );
        assert_eq!(
            t("-- mvtop\n/* x */ REFRESH  MATERIALIZED VIEW \"top\"\"c\" WITH DATA"),
            Some("\"top\"\"c\"".into())
        );
        assert_eq!(t("REFRESH MATERIALIZED VIEW s . n"), Some("s.n".into()));
        // mvtop's own statements quote every part; shown as every screen shows names.
        assert_eq!(
            t("REFRESH MATERIALIZED VIEW \"reporting\".\"builds_hourly\""),
            Some("reporting.builds_hourly".into())
        );
        assert_eq!(t("REFRESH MATERIALIZED VIEW Rpt.M"), Some("rpt.m".into()));
        assert_eq!(t("SELECT 'REFRESH MATERIALIZED VIEW x'"), None);
        assert_eq!(t("REFRESH MATERIALIZED"), None);
    }
}

//! SQL identifier quoting. mvtop always quotes: `"Sales by Region"`, `"top""customers_é"`.

/// `"name"` with inner double quotes doubled; safe for any name PostgreSQL accepts.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn quote_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// PostgreSQL's reserved keywords (and those that cannot be a function or type name): a
/// bare name equal to one of them needs quotes.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "system_user",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
    "authorization",
    "binary",
    "collation",
    "concurrently",
    "cross",
    "current_schema",
    "freeze",
    "full",
    "ilike",
    "inner",
    "is",
    "isnull",
    "join",
    "left",
    "like",
    "natural",
    "notnull",
    "outer",
    "overlaps",
    "right",
    "similar",
    "tablesample",
    "verbose",
];

/// A name as mvtop shows it: bare where SQL takes it bare, quoted otherwise (as the
/// server's `quote_ident` does for all but keywords it also quotes).
pub fn display_ident(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&name);
    if bare {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// `schema.name`, each part quoted only where needed.
pub fn display_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", display_ident(schema), display_ident(name))
}

/// A string literal for SQL text: `'it''s'` (standard_conforming_strings, on since 9.1).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_and_escaped() {
        assert_eq!(quote_ident("plain"), "\"plain\"");
        assert_eq!(quote_ident("top\"customers_é"), "\"top\"\"customers_é\"");
        assert_eq!(
            quote_qualified("Reporting", "Sales by Region"),
            "\"Reporting\".\"Sales by Region\""
        );
    }

    #[test]
    fn display_quotes_only_where_sql_needs_it() {
        assert_eq!(display_ident("plain_1$"), "plain_1$");
        assert_eq!(display_ident("Plain"), "\"Plain\"");
        assert_eq!(display_ident("user"), "\"user\"");
        assert_eq!(display_ident("1a"), "\"1a\"");
        assert_eq!(display_ident("é"), "\"é\"");
        assert_eq!(display_qualified("public", "top\"x"), "public.\"top\"\"x\"");
    }

    #[test]
    fn literals_double_single_quotes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}

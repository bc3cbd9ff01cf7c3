//! SQL identifier quoting. mvtop always quotes: `"Sales by Region"`, `"top""customers_é"`.

/// `"name"` with inner double quotes doubled; safe for any name PostgreSQL accepts.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn quote_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
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
    fn literals_double_single_quotes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}

//! Output for scripts and people: psql-aligned tables, CSV, JSON.

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table of already formatted cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<&'static str>,
    pub align: Vec<Align>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|c| c.0).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Like psql's aligned format: centred headers, ` | ` separators, `(N rows)` footer.
    pub fn to_psql(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| display_width(&r[i]))
                    .chain([display_width(self.headers[i])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let header: Vec<String> = self
            .headers
            .iter()
            .zip(&widths)
            .map(|(h, &w)| centre(h, w))
            .collect();
        push_line(&mut out, &header.join(" | "));
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w + 2)).collect();
        out.push_str(&rule.join("+"));
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .zip(&self.align)
                .map(|((c, &w), a)| pad(c, w, *a))
                .collect();
            push_line(&mut out, &cells.join(" | "));
        }
        let n = self.rows.len();
        out.push_str(&format!("({n} {})\n", if n == 1 { "row" } else { "rows" }));
        out
    }

    /// RFC 4180: a header line, fields quoted when they hold a comma, quote or line break.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<&str>| {
            cells
                .into_iter()
                .map(csv_field)
                .collect::<Vec<_>>()
                .join(",")
        };
        out.push_str(&line(self.headers.clone()));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

fn push_line(out: &mut String, body: &str) {
    out.push(' ');
    out.push_str(body.trim_end());
    out.push('\n');
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(display_width(s)));
    match align {
        Align::Left => format!("{s}{fill}"),
        Align::Right => format!("{fill}{s}"),
    }
}

fn centre(s: &str, width: usize) -> String {
    let total = width.saturating_sub(display_width(s));
    let left = total / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(total - left))
}

/// Pretty JSON with a final newline, as every subcommand prints it.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, super::Failure> {
    let mut s = serde_json::to_string_pretty(value)
        .map_err(|e| super::Failure::new(format!("could not encode JSON: {e}")))?;
    s.push('\n');
    Ok(s)
}

pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&[("name", Align::Left), ("size", Align::Right)]);
        t.rows.push(vec!["a".into(), "8192 bytes".into()]);
        t.rows.push(vec!["Sales, \"EU\"".into(), "16 kB".into()]);
        t
    }

    #[test]
    fn psql_alignment() {
        insta::assert_snapshot!(sample().to_psql(), @r#"
            name     |    size
        -------------+------------
         a           | 8192 bytes
         Sales, "EU" |      16 kB
        (2 rows)
        "#);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(
            sample().to_csv(),
            "name,size\na,8192 bytes\n\"Sales, \"\"EU\"\"\",16 kB\n"
        );
    }
}

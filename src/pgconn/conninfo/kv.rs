//! `key = value` conninfo strings, read exactly as libpq 15 reads them (fe-connect.c
//! `conninfo_parse`).

use super::keywords::{guard, store};
use crate::pgconn::params::{ConfigError, Params, is_secret_keyword};

/// C's `isspace` in the C locale, which libpq uses to split conninfo strings.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn bytes_to_string(bytes: Vec<u8>) -> String {
    // Splits only ever happen at ASCII bytes, so the bytes are UTF-8 whenever the input was.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// An unquoted value: up to the next blank, a backslash taking the next byte literally.
fn read_unquoted(b: &[u8], mut i: usize) -> (String, usize) {
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            c if is_c_space(c) => {
                i += 1;
                break;
            }
            b'\\' => {
                i += 1;
                if i < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (bytes_to_string(out), i)
}

/// A single-quoted value, `i` just past the opening quote; `\'` and `\\` are escapes.
fn read_quoted(b: &[u8], mut i: usize) -> Result<(String, usize), ConfigError> {
    let mut out = Vec::new();
    loop {
        match b.get(i) {
            None => return Err(ConfigError::UnterminatedQuote),
            Some(b'\\') => {
                i += 1;
                if let Some(&c) = b.get(i) {
                    out.push(c);
                    i += 1;
                }
            }
            Some(b'\'') => return Ok((bytes_to_string(out), i + 1)),
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Parses `key = value ...` exactly as libpq does; unknown keywords are an error.
pub fn parse_conninfo(s: &str) -> Result<Params, ConfigError> {
    let b = s.as_bytes();
    let mut params = Params::new();
    let mut i = 0;
    // An unquoted password stops at the first blank; what follows may be the rest of it. So
    // may the word after a quoted value that itself holds `password=`: a misplaced quote
    // (`host=' password='secret`) leaves the password outside any value.
    let mut after_unquoted_secret = false;
    while i < b.len() {
        if is_c_space(b[i]) {
            i += 1;
            continue;
        }
        let name_start = i;
        while i < b.len() && b[i] != b'=' && !is_c_space(b[i]) {
            i += 1;
        }
        let name = &s[name_start..i];
        while i < b.len() && is_c_space(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Err(ConfigError::MissingEquals {
                keyword: guard(name, after_unquoted_secret),
            });
        }
        i += 1;
        while i < b.len() && is_c_space(b[i]) {
            i += 1;
        }
        let quoted = b.get(i) == Some(&b'\'');
        let (value, next) = if quoted {
            read_quoted(b, i + 1)?
        } else {
            read_unquoted(b, i)
        };
        i = next;
        if !store(&mut params, name, &value) {
            return Err(ConfigError::InvalidOption {
                keyword: guard(name, after_unquoted_secret),
            });
        }
        after_unquoted_secret = (!quoted && is_secret_keyword(name))
            || (quoted && value.to_ascii_lowercase().contains("password"));
    }
    Ok(params)
}

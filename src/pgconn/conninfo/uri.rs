//! `postgresql://` URIs, read exactly as libpq 15 reads them (fe-connect.c
//! `conninfo_uri_parse_options`): percent-decoding, netlocs, the query, and the redacted form
//! of a URI for messages.

use super::keywords::{guard, is_keyword, store};
use crate::pgconn::params::{ConfigError, Params, REDACTED, is_secret_keyword};

const URI_PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// Length of the URI designator `s` starts with, 0 if none (case-sensitive, as libpq).
pub(super) fn uri_prefix_len(s: &str) -> usize {
    URI_PREFIXES
        .iter()
        .find(|p| s.starts_with(**p))
        .map_or(0, |p| p.len())
}

enum DecodeError {
    BadToken,
    Nul,
    NotUtf8,
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// libpq's `conninfo_uri_decode`: `%xy` triplets, `%00` refused.
fn percent_decode(raw: &str) -> Result<String, DecodeError> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hi = b.get(i + 1).copied().and_then(hex_digit);
        let lo = b.get(i + 2).copied().and_then(hex_digit);
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(DecodeError::BadToken);
        };
        let c = (hi << 4) | lo;
        if c == 0 {
            return Err(DecodeError::Nul);
        }
        out.push(c);
        i += 3;
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// Decodes one URI component; the error quotes the raw text, or hides it if it is secret.
fn decode_component(raw: &str, secret: bool) -> Result<String, ConfigError> {
    percent_decode(raw).map_err(|e| {
        let value = guard(raw, secret);
        match e {
            DecodeError::BadToken => ConfigError::InvalidPercentEncoding { value },
            DecodeError::Nul => ConfigError::PercentEncodedNul { value },
            DecodeError::NotUtf8 => ConfigError::PercentEncodedNotUtf8 { value },
        }
    })
}

/// Index of the first byte at or after `from` that `stop` accepts, else `b.len()`.
fn scan(b: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    b[from..]
        .iter()
        .position(|&c| stop(c))
        .map_or(b.len(), |n| from + n)
}

/// Where the credentials end: just past the `@` if the URI has `user[:password]@`.
fn credentials_end(b: &[u8], prefix: usize) -> Option<usize> {
    // libpq looks only as far as the first '/' for the '@'.
    let at = scan(b, prefix, |c| c == b'@' || c == b'/');
    (b.get(at) == Some(&b'@')).then_some(at)
}

/// The URI as it may be quoted in a message: the password in the credentials and the values
/// of secret query parameters (and whatever follows them up to the next known keyword, in
/// case an unencoded `&` split the secret) are replaced.
fn redact_uri(uri: &str) -> String {
    let prefix = uri_prefix_len(uri);
    let b = uri.as_bytes();
    let mut out = String::from(&uri[..prefix]);
    let mut rest_start = prefix;
    if let Some(at) = credentials_end(b, prefix) {
        let colon = scan(&b[..at], prefix, |c| c == b':');
        out.push_str(&uri[prefix..colon]);
        if colon < at {
            out.push(':');
            out.push_str(REDACTED);
        }
        out.push('@');
        rest_start = at + 1;
    }
    let query = scan(b, rest_start, |c| c == b'?');
    out.push_str(&uri[rest_start..query]);
    if query < b.len() {
        out.push('?');
        out.push_str(&redact_query(&uri[query + 1..]));
    }
    out
}

fn redact_query(query: &str) -> String {
    let mut hiding = false;
    let pieces: Vec<String> = query
        .split('&')
        .map(|piece| {
            let raw_key = piece.split('=').next().unwrap_or("");
            let key = percent_decode(raw_key).unwrap_or_default();
            if is_secret_keyword(&key) {
                hiding = true;
                format!("{raw_key}={REDACTED}")
            } else if hiding && !is_keyword(&key) && key != "ssl" && key != "requiressl" {
                REDACTED.to_string()
            } else {
                hiding = false;
                piece.to_string()
            }
        })
        .collect();
    pieces.join("&")
}

/// Parses a `postgresql://` or `postgres://` URI exactly as libpq does.
pub fn parse_uri(uri: &str) -> Result<Params, ConfigError> {
    let prefix = uri_prefix_len(uri);
    if prefix == 0 {
        return Err(ConfigError::NotUri);
    }
    let b = uri.as_bytes();
    let mut params = Params::new();
    let netlocs = match credentials_end(b, prefix) {
        Some(at) => {
            parse_credentials(&uri[prefix..at], &mut params)?;
            at + 1
        }
        None => prefix,
    };
    let (mut p, mut stop) = parse_netlocs(uri, netlocs, &mut params)?;
    if stop == Some(b'/') {
        let start = p + 1;
        p = scan(b, start, |c| c == b'?');
        let dbname = &uri[start..p];
        // An empty dbname is left unset so PGDATABASE still applies.
        if !dbname.is_empty() {
            params.set("dbname", decode_component(dbname, false)?);
        }
        stop = b.get(p).copied();
    }
    if stop.is_some() {
        parse_query(&uri[p + 1..], &mut params)?;
    }
    Ok(params)
}

/// `user[:password]`, the part before the `@`.
fn parse_credentials(creds: &str, params: &mut Params) -> Result<(), ConfigError> {
    let (user, password) = match creds.find(':') {
        Some(i) => (&creds[..i], Some(&creds[i + 1..])),
        None => (creds, None),
    };
    if !user.is_empty() {
        params.set("user", decode_component(user, false)?);
    }
    if let Some(pw) = password.filter(|pw| !pw.is_empty()) {
        params.set("password", decode_component(pw, true)?);
    }
    Ok(())
}

/// The comma-separated `host[:port]` list starting at `p`. Returns where it stopped and the
/// byte found there (`/`, `?` or end).
fn parse_netlocs(
    uri: &str,
    mut p: usize,
    params: &mut Params,
) -> Result<(usize, Option<u8>), ConfigError> {
    let b = uri.as_bytes();
    let mut hosts = String::new();
    let mut ports = String::new();
    let stop = loop {
        let host;
        if b.get(p) == Some(&b'[') {
            let start = p + 1;
            let close = scan(b, start, |c| c == b']');
            if close == b.len() {
                return Err(ConfigError::UriUnterminatedIpv6 {
                    uri: redact_uri(uri),
                });
            }
            if close == start {
                return Err(ConfigError::UriEmptyIpv6 {
                    uri: redact_uri(uri),
                });
            }
            host = &uri[start..close];
            p = close + 1;
            if let Some(&c) = b.get(p)
                && !matches!(c, b':' | b'/' | b'?' | b',')
            {
                return Err(ConfigError::UriUnexpectedChar {
                    ch: uri[p..].chars().next().unwrap_or(char::from(c)),
                    position: p + 1,
                    uri: redact_uri(uri),
                });
            }
        } else {
            let start = p;
            p = scan(b, p, |c| matches!(c, b':' | b'/' | b'?' | b','));
            host = &uri[start..p];
        }
        hosts.push_str(host);
        let mut stop = b.get(p).copied();
        if stop == Some(b':') {
            let start = p + 1;
            p = scan(b, start, |c| matches!(c, b'/' | b'?' | b','));
            ports.push_str(&uri[start..p]);
            stop = b.get(p).copied();
        }
        if stop != Some(b',') {
            break stop;
        }
        // libpq keeps the lists aligned: a host without a port leaves an empty port entry.
        p += 1;
        hosts.push(',');
        ports.push(',');
    };
    if !hosts.is_empty() {
        params.set("host", decode_component(&hosts, false)?);
    }
    if !ports.is_empty() {
        params.set("port", decode_component(&ports, false)?);
    }
    Ok((p, stop))
}

/// `key=value&...` after the `?`; keys are checked like conninfo keywords.
fn parse_query(query: &str, params: &mut Params) -> Result<(), ConfigError> {
    let mut after_secret = false;
    let mut rest = query;
    while !rest.is_empty() {
        let (piece, next) = match rest.find('&') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let Some(eq) = piece.find('=') else {
            return Err(ConfigError::UriMissingSeparator {
                parameter: guard(piece, after_secret),
            });
        };
        let (raw_key, raw_value) = (&piece[..eq], &piece[eq + 1..]);
        if raw_value.contains('=') {
            return Err(ConfigError::UriExtraSeparator {
                keyword: guard(raw_key, after_secret),
            });
        }
        let key = decode_component(raw_key, after_secret)?;
        let secret = is_secret_keyword(&key);
        let value = decode_component(raw_value, secret || after_secret)?;
        // libpq's alias for JDBC users; `ssl=false` stays an error, as in libpq.
        let (key, value) = if key == "ssl" && value == "true" {
            ("sslmode".to_string(), "require".to_string())
        } else {
            (key, value)
        };
        if !store(params, &key, &value) {
            return Err(ConfigError::InvalidUriParameter {
                keyword: guard(&key, after_secret),
            });
        }
        after_secret = secret;
    }
    Ok(())
}

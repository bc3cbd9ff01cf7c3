//! Connection strings, read exactly as libpq 15 reads them: `key = value` conninfo strings
//! (fe-connect.c `conninfo_parse`) and `postgresql://` URIs (`conninfo_uri_parse_options`).

use super::params::{ConfigError, Params, REDACTED, is_secret_keyword};

/// Every keyword libpq 15 accepts (its `PQconninfoOptions`), in libpq's order.
pub const KEYWORDS: &[&str] = &[
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "replication",
    "target_session_attrs",
];

pub fn is_keyword(keyword: &str) -> bool {
    KEYWORDS.contains(&keyword)
}

const URI_PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// Length of the URI designator `s` starts with, 0 if none (case-sensitive, as libpq).
fn uri_prefix_len(s: &str) -> usize {
    URI_PREFIXES
        .iter()
        .find(|p| s.starts_with(**p))
        .map_or(0, |p| p.len())
}

/// libpq's `recognized_connection_string`: a URI, or anything containing `=`.
pub fn is_conninfo_or_uri(s: &str) -> bool {
    uri_prefix_len(s) != 0 || s.contains('=')
}

/// What psql does with its `-d` argument: expand a URI or conninfo string, else take it as
/// the database name. An empty argument gives no parameters, as libpq skips empty values.
pub fn parse_dbname_arg(s: &str) -> Result<Params, ConfigError> {
    if uri_prefix_len(s) != 0 {
        parse_uri(s)
    } else if s.contains('=') {
        parse_conninfo(s)
    } else {
        let mut params = Params::new();
        if !s.is_empty() {
            params.set("dbname", s);
        }
        Ok(params)
    }
}

/// libpq's `conninfo_storeval`: the legacy `requiressl` alias, then the keyword check.
/// Returns false for an unknown keyword; the caller words the error.
fn store(params: &mut Params, keyword: &str, value: &str) -> bool {
    if keyword == "requiressl" {
        let mode = if value.starts_with('1') {
            "require"
        } else {
            "prefer"
        };
        params.set("sslmode", mode);
        return true;
    }
    if !is_keyword(keyword) {
        return false;
    }
    params.set(keyword, value);
    true
}

/// C's `isspace` in the C locale, which libpq uses to split conninfo strings.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A word that may be the tail of a secret (an unquoted password cut at a space) is not echoed.
fn guard(word: &str, maybe_secret: bool) -> String {
    if maybe_secret {
        REDACTED.to_string()
    } else {
        word.to_string()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn conninfo(s: &str) -> Params {
        parse_conninfo(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn uri(s: &str) -> Params {
        parse_uri(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn pairs(list: &[(&str, &str)]) -> Params {
        list.iter().copied().collect()
    }

    fn conninfo_err(s: &str) -> String {
        parse_conninfo(s).unwrap_err().to_string()
    }

    fn uri_err(s: &str) -> String {
        parse_uri(s).unwrap_err().to_string()
    }

    // --- conninfo ---

    #[test]
    fn empty_conninfo_is_empty() {
        assert_eq!(conninfo(""), Params::new());
        assert_eq!(conninfo("  \t\n "), Params::new());
    }

    #[test]
    fn plain_pairs() {
        assert_eq!(
            conninfo("host=db port=5433 dbname=app user=alice"),
            pairs(&[
                ("host", "db"),
                ("port", "5433"),
                ("dbname", "app"),
                ("user", "alice")
            ])
        );
    }

    #[test]
    fn blanks_around_equals_and_between_pairs() {
        assert_eq!(
            conninfo("  host = db\tport\n=\n5433  "),
            pairs(&[("host", "db"), ("port", "5433")])
        );
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            conninfo(r"application_name='my app' options='-c search_path=a,b'"),
            pairs(&[
                ("application_name", "my app"),
                ("options", "-c search_path=a,b")
            ])
        );
    }

    #[test]
    fn quoted_escapes() {
        assert_eq!(
            conninfo(r"password='it\'s a \\ secret'").get("password"),
            Some(r"it's a \ secret")
        );
        // Any escaped character stands for itself.
        assert_eq!(conninfo(r"dbname='a\bc'").get("dbname"), Some("abc"));
    }

    #[test]
    fn empty_quoted_value() {
        assert_eq!(
            conninfo("host='' port=1"),
            pairs(&[("host", ""), ("port", "1")])
        );
    }

    #[test]
    fn unquoted_backslash_escapes() {
        assert_eq!(conninfo(r"dbname=a\ b").get("dbname"), Some("a b"));
        assert_eq!(conninfo(r"dbname=a\\b").get("dbname"), Some(r"a\b"));
        assert_eq!(conninfo(r"dbname=a\'b").get("dbname"), Some("a'b"));
        // A trailing lone backslash is dropped, as in libpq.
        assert_eq!(conninfo(r"dbname=ab\").get("dbname"), Some("ab"));
    }

    #[test]
    fn quote_inside_unquoted_value_is_literal() {
        assert_eq!(conninfo("dbname=a'b").get("dbname"), Some("a'b"));
    }

    #[test]
    fn next_pair_may_follow_closing_quote_directly() {
        assert_eq!(
            conninfo("host='a'port=1"),
            pairs(&[("host", "a"), ("port", "1")])
        );
    }

    #[test]
    fn empty_unquoted_value_swallows_next_word_like_libpq() {
        // libpq skips blanks after '=' before reading the value.
        assert_eq!(conninfo("host= port=5"), pairs(&[("host", "port=5")]));
        assert_eq!(conninfo("host="), pairs(&[("host", "")]));
    }

    #[test]
    fn later_value_wins() {
        assert_eq!(conninfo("port=1 port=2").get("port"), Some("2"));
    }

    #[test]
    fn non_ascii_values() {
        assert_eq!(
            conninfo("dbname=bäse user='jörg'").get("dbname"),
            Some("bäse")
        );
        assert_eq!(conninfo(r"dbname=\é").get("dbname"), Some("é"));
    }

    #[test]
    fn missing_equals() {
        assert_eq!(
            conninfo_err("foo"),
            "missing \"=\" after \"foo\" in connection info string"
        );
        assert_eq!(
            conninfo_err("foo bar=baz"),
            "missing \"=\" after \"foo\" in connection info string"
        );
        assert_eq!(
            conninfo_err("host=a stray"),
            "missing \"=\" after \"stray\" in connection info string"
        );
    }

    #[test]
    fn unterminated_quote() {
        for s in ["host='abc", r"host='abc\'", r"host='abc\"] {
            assert_eq!(
                conninfo_err(s),
                "unterminated quoted string in connection info string"
            );
        }
    }

    #[test]
    fn unknown_keyword() {
        assert_eq!(conninfo_err("hots=x"), "invalid connection option \"hots\"");
        assert_eq!(conninfo_err("=x"), "invalid connection option \"\"");
        // PostgreSQL 16+ keywords are not libpq 15's.
        assert_eq!(
            conninfo_err("load_balance_hosts=random"),
            "invalid connection option \"load_balance_hosts\""
        );
    }

    #[test]
    fn every_libpq15_keyword_is_accepted() {
        for k in KEYWORDS {
            let p = conninfo(&format!("{k}=v"));
            assert_eq!(p.get(k), Some("v"), "{k}");
        }
        assert_eq!(KEYWORDS.len(), 36);
    }

    #[test]
    fn requiressl_is_libpqs_alias_for_sslmode() {
        assert_eq!(conninfo("requiressl=1").get("sslmode"), Some("require"));
        assert_eq!(conninfo("requiressl=0").get("sslmode"), Some("prefer"));
        assert_eq!(conninfo("requiressl=1").get("requiressl"), None);
    }

    #[test]
    fn unquoted_password_tail_is_not_echoed() {
        let e = conninfo_err("password=my secret");
        assert!(!e.contains("secret"), "{e}");
        assert_eq!(
            e,
            "missing \"=\" after \"********\" in connection info string"
        );
        assert_eq!(
            conninfo_err("password=a b=c"),
            "invalid connection option \"********\""
        );
        // A quoted password cannot have been split, so the next word is shown.
        assert_eq!(
            conninfo_err("password='a b' stray"),
            "missing \"=\" after \"stray\" in connection info string"
        );
        // A misplaced quote leaves the password outside any value (found by the fuzz test).
        let e = conninfo_err("host=' password='Sekr1t-pw");
        assert!(!e.contains("Sekr1t"), "{e}");
        let e = conninfo_err("host=' password='Sekr1t-pw=x");
        assert!(!e.contains("Sekr1t"), "{e}");
    }

    // --- URIs ---

    #[test]
    fn bare_uris() {
        assert_eq!(uri("postgresql://"), Params::new());
        assert_eq!(uri("postgres://"), Params::new());
        assert_eq!(uri("postgresql:///"), Params::new());
    }

    #[test]
    fn full_uri() {
        assert_eq!(
            uri(
                "postgresql://alice:s3cret@db.example.com:5433/app?application_name=x&connect_timeout=10"
            ),
            pairs(&[
                ("user", "alice"),
                ("password", "s3cret"),
                ("host", "db.example.com"),
                ("port", "5433"),
                ("dbname", "app"),
                ("application_name", "x"),
                ("connect_timeout", "10"),
            ])
        );
    }

    #[test]
    fn short_scheme() {
        assert_eq!(
            uri("postgres://h/d"),
            pairs(&[("host", "h"), ("dbname", "d")])
        );
    }

    #[test]
    fn credentials_variants() {
        assert_eq!(
            uri("postgresql://alice@h"),
            pairs(&[("user", "alice"), ("host", "h")])
        );
        assert_eq!(
            uri("postgresql://:pw@h"),
            pairs(&[("password", "pw"), ("host", "h")])
        );
        assert_eq!(uri("postgresql://@h"), pairs(&[("host", "h")]));
        assert_eq!(
            uri("postgresql://alice:@h"),
            pairs(&[("user", "alice"), ("host", "h")])
        );
        // A colon in the password needs no encoding; only the first '@' ends it.
        assert_eq!(uri("postgresql://u:a:b@h").get("password"), Some("a:b"));
    }

    #[test]
    fn percent_encoding_everywhere() {
        assert_eq!(
            uri("postgresql://us%40er:p%40ss%2Fw@h%6Fst:54%33/d%20b?application_name=a%26b"),
            pairs(&[
                ("user", "us@er"),
                ("password", "p@ss/w"),
                ("host", "host"),
                ("port", "543"),
                ("dbname", "d b"),
                ("application_name", "a&b"),
            ])
        );
        assert_eq!(uri("postgresql:///caf%C3%A9").get("dbname"), Some("café"));
        // Query keys are decoded too.
        assert_eq!(uri("postgresql://?%75ser=u").get("user"), Some("u"));
    }

    #[test]
    fn bad_percent_encoding() {
        assert_eq!(
            uri_err("postgresql:///a%zz"),
            "invalid percent-encoded token: \"a%zz\""
        );
        assert_eq!(
            uri_err("postgresql:///a%2"),
            "invalid percent-encoded token: \"a%2\""
        );
        assert_eq!(
            uri_err("postgresql://?user=%00"),
            "forbidden value %00 in percent-encoded value: \"%00\""
        );
        assert_eq!(
            uri_err("postgresql:///%ff"),
            "percent-decoded value is not valid UTF-8: \"%ff\""
        );
    }

    #[test]
    fn bad_percent_encoding_in_password_is_not_echoed() {
        let e = uri_err("postgresql://u:hunter%zz@h");
        assert_eq!(e, "invalid percent-encoded token: \"********\"");
        let e = uri_err("postgresql://h?password=hunter%zz");
        assert!(!e.contains("hunter"), "{e}");
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(
            uri("postgresql://[::1]:5433/d"),
            pairs(&[("host", "::1"), ("port", "5433"), ("dbname", "d")])
        );
        assert_eq!(
            uri("postgresql://[2001:db8::7]/d"),
            pairs(&[("host", "2001:db8::7"), ("dbname", "d")])
        );
        assert_eq!(
            uri("postgresql://[::1]?sslmode=disable"),
            pairs(&[("host", "::1"), ("sslmode", "disable")])
        );
        assert_eq!(
            uri("postgresql://[::1],[fe80::2]:6/d"),
            pairs(&[("host", "::1,fe80::2"), ("port", ",6"), ("dbname", "d")])
        );
    }

    #[test]
    fn ipv6_errors() {
        assert_eq!(
            uri_err("postgresql://[::1"),
            "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://[::1\""
        );
        assert_eq!(
            uri_err("postgresql://[]/d"),
            "IPv6 host address may not be empty in URI: \"postgresql://[]/d\""
        );
        assert_eq!(
            uri_err("postgresql://[::1]x/d"),
            "unexpected character \"x\" at position 19 in URI (expected \":\" or \"/\"): \"postgresql://[::1]x/d\""
        );
    }

    #[test]
    fn uri_errors_hide_passwords() {
        let e = uri_err("postgresql://alice:hunter2@[::1");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("postgresql://alice:********@[::1"), "{e}");
        let e = uri_err("postgresql://[::1]x/d?password=hunter2&tail&user=bob");
        assert!(!e.contains("hunter2") && !e.contains("tail"), "{e}");
        assert!(e.contains("?password=********&********&user=bob"), "{e}");
        let e = uri_err("postgresql://[]?sslpassword=hunter2");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn multiple_hosts() {
        assert_eq!(
            uri("postgresql://h1:1,h2:2/db"),
            pairs(&[("host", "h1,h2"), ("port", "1,2"), ("dbname", "db")])
        );
        assert_eq!(
            uri("postgresql://h1:1,h2/db"),
            pairs(&[("host", "h1,h2"), ("port", "1,"), ("dbname", "db")])
        );
        assert_eq!(
            uri("postgresql://h1,h2:2,h3"),
            pairs(&[("host", "h1,h2,h3"), ("port", ",2,")])
        );
        // No ports at all still yields libpq's all-empty port list.
        assert_eq!(
            uri("postgresql://h1,h2/db"),
            pairs(&[("host", "h1,h2"), ("port", ","), ("dbname", "db")])
        );
    }

    #[test]
    fn socket_directory_hosts() {
        assert_eq!(
            uri("postgresql://%2Fvar%2Frun%2Fpostgresql/db"),
            pairs(&[("host", "/var/run/postgresql"), ("dbname", "db")])
        );
        assert_eq!(
            uri("postgresql://%2Ftmp:5433/db"),
            pairs(&[("host", "/tmp"), ("port", "5433"), ("dbname", "db")])
        );
        assert_eq!(
            uri("postgresql:///db?host=/var/run/postgresql"),
            pairs(&[("host", "/var/run/postgresql"), ("dbname", "db")])
        );
        assert_eq!(
            uri("postgresql://?host=%2Ftmp&port=5444"),
            pairs(&[("host", "/tmp"), ("port", "5444")])
        );
    }

    #[test]
    fn empty_dbname_is_not_set() {
        assert_eq!(uri("postgresql://h/"), pairs(&[("host", "h")]));
        assert_eq!(
            uri("postgresql://h/?user=u"),
            pairs(&[("host", "h"), ("user", "u")])
        );
        assert_eq!(uri("postgresql://h?"), pairs(&[("host", "h")]));
    }

    #[test]
    fn query_overrides_earlier_parts() {
        assert_eq!(
            uri("postgresql://h/db?dbname=other").get("dbname"),
            Some("other")
        );
        assert_eq!(uri("postgresql://h?port=1&port=2").get("port"), Some("2"));
        // A trailing '&' ends the list without an empty parameter.
        assert_eq!(
            uri("postgresql://h?port=1&"),
            pairs(&[("host", "h"), ("port", "1")])
        );
    }

    #[test]
    fn query_errors() {
        assert_eq!(
            uri_err("postgresql://h?foo=1"),
            "invalid URI query parameter: \"foo\""
        );
        assert_eq!(
            uri_err("postgresql://h?sslmode"),
            "missing key/value separator \"=\" in URI query parameter: \"sslmode\""
        );
        assert_eq!(
            uri_err("postgresql://h?port=1&&user=2"),
            "missing key/value separator \"=\" in URI query parameter: \"\""
        );
        assert_eq!(
            uri_err("postgresql://h?options=a=b"),
            "extra key/value separator \"=\" in URI query parameter: \"options\""
        );
        assert_eq!(
            uri_err("postgresql://h?ssl=false"),
            "invalid URI query parameter: \"ssl\""
        );
    }

    #[test]
    fn query_error_after_unencoded_amp_in_password_hides_tail() {
        let e = uri_err("postgresql://h?password=ab&cd");
        assert!(!e.contains("cd"), "{e}");
        let e = uri_err("postgresql://h?password=ab&cd=ef");
        assert!(!e.contains("cd"), "{e}");
    }

    #[test]
    fn ssl_true_is_sslmode_require() {
        assert_eq!(
            uri("postgresql://h?ssl=true").get("sslmode"),
            Some("require")
        );
        assert_eq!(uri("postgresql://h?ssl=true").get("ssl"), None);
        assert_eq!(
            uri("postgresql://h?requiressl=1").get("sslmode"),
            Some("require")
        );
    }

    #[test]
    fn query_keys_are_checked_like_conninfo_keys() {
        for k in KEYWORDS {
            assert_eq!(
                uri(&format!("postgresql://?{k}=v")).get(k),
                Some("v"),
                "{k}"
            );
        }
    }

    #[test]
    fn at_sign_only_counts_before_first_slash() {
        assert_eq!(
            uri("postgresql://h/db?application_name=a@b"),
            pairs(&[("host", "h"), ("dbname", "db"), ("application_name", "a@b")])
        );
    }

    #[test]
    fn not_a_uri() {
        assert_eq!(parse_uri("host=x"), Err(ConfigError::NotUri));
        assert_eq!(parse_uri("POSTGRESQL://h"), Err(ConfigError::NotUri));
    }

    #[test]
    fn uri_password_not_in_debug() {
        let p = uri("postgresql://u:hunter2@h/d");
        let shown = format!("{p:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    // --- dispatch ---

    #[test]
    fn recognizes_connection_strings() {
        assert!(is_conninfo_or_uri("postgresql://h"));
        assert!(is_conninfo_or_uri("postgres://"));
        assert!(is_conninfo_or_uri("host=h"));
        assert!(is_conninfo_or_uri("a=b"));
        assert!(!is_conninfo_or_uri("mydb"));
        assert!(!is_conninfo_or_uri(""));
        assert!(!is_conninfo_or_uri("postgresql:/h"));
        assert!(!is_conninfo_or_uri("Postgres://h"));
    }

    #[test]
    fn dbname_argument() {
        assert_eq!(
            parse_dbname_arg("mydb").unwrap(),
            pairs(&[("dbname", "mydb")])
        );
        assert_eq!(parse_dbname_arg("").unwrap(), Params::new());
        assert_eq!(
            parse_dbname_arg("my db with spaces").unwrap(),
            pairs(&[("dbname", "my db with spaces")])
        );
        assert_eq!(
            parse_dbname_arg("host=h dbname=d").unwrap(),
            pairs(&[("host", "h"), ("dbname", "d")])
        );
        assert_eq!(
            parse_dbname_arg("postgresql://h/d").unwrap(),
            pairs(&[("host", "h"), ("dbname", "d")])
        );
        assert_eq!(
            parse_dbname_arg("a=b").unwrap_err().to_string(),
            "invalid connection option \"a\""
        );
    }
}

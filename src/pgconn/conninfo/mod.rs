//! Connection strings, read exactly as libpq 15 reads them: `key = value` conninfo strings
//! (fe-connect.c `conninfo_parse`) and `postgresql://` URIs (`conninfo_uri_parse_options`).
//!
//! `keywords` holds libpq's keyword table and how a value is stored under one; `kv` reads
//! `key = value` strings, `uri` reads URIs; this file decides which a `-d` argument is.

mod keywords;
mod kv;
mod uri;

pub use keywords::{KEYWORDS, is_keyword};
pub use kv::parse_conninfo;
pub use uri::parse_uri;

use super::params::{ConfigError, Params};
use uri::uri_prefix_len;

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

//! The password file (`~/.pgpass`), read and matched exactly as libpq 15 does
//! (fe-connect.c `passwordFromFile` and `pwdfMatchesString`).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::params::REDACTED;

/// One field of a line: `*` alone matches anything; anything else must match exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgpassField {
    Any,
    Exact(String),
}

impl PgpassField {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            PgpassField::Any => true,
            PgpassField::Exact(s) => s == value,
        }
    }
}

/// One `hostname:port:database:username:password` line.
#[derive(Clone, PartialEq, Eq)]
pub struct PgpassEntry {
    pub host: PgpassField,
    pub port: PgpassField,
    pub dbname: PgpassField,
    pub user: PgpassField,
    pub password: String,
}

impl fmt::Debug for PgpassEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgpassEntry")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field("password", &REDACTED)
            .finish()
    }
}

fn bytes_to_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One of the four matched fields, starting at `*i`; `None` if the line ends before the
/// field's closing `:` (such a line can never match in libpq).
fn read_field(line: &[u8], i: &mut usize) -> Option<PgpassField> {
    if line[*i..].starts_with(b"*:") {
        *i += 2;
        return Some(PgpassField::Any);
    }
    let mut out = Vec::new();
    loop {
        match *line.get(*i)? {
            b'\\' => {
                out.push(*line.get(*i + 1)?);
                *i += 2;
            }
            b':' => {
                *i += 1;
                return Some(PgpassField::Exact(bytes_to_string(&out)));
            }
            c => {
                out.push(c);
                *i += 1;
            }
        }
    }
}

/// The password: up to the next unescaped `:` or the end; a final lone backslash is kept.
fn read_password(rest: &[u8]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rest.len() && rest[i] != b':' {
        if rest[i] == b'\\' && i + 1 < rest.len() {
            i += 1;
        }
        out.push(rest[i]);
        i += 1;
    }
    bytes_to_string(&out)
}

fn parse_line(line: &[u8]) -> Option<PgpassEntry> {
    let mut i = 0;
    let host = read_field(line, &mut i)?;
    let port = read_field(line, &mut i)?;
    let dbname = read_field(line, &mut i)?;
    let user = read_field(line, &mut i)?;
    Some(PgpassEntry {
        host,
        port,
        dbname,
        user,
        password: read_password(&line[i..]),
    })
}

/// Every usable line: `#` comments (at the very start of a line), empty lines and lines with
/// fewer than five fields are left out.
pub fn parse_pgpass(text: &str) -> Vec<PgpassEntry> {
    text.as_bytes()
        .split(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"#"))
        .map(|line| {
            let end = line
                .iter()
                .rposition(|&b| b != b'\r' && b != b'\n')
                .map_or(0, |p| p + 1);
            &line[..end]
        })
        .filter(|line| !line.is_empty())
        .filter_map(parse_line)
        .collect()
}

/// The password of the first matching line. `host` is the lookup name (see [`pgpass_host`]);
/// an empty host or port means libpq's defaults, and an empty database or user never matches.
pub fn find_password(
    entries: &[PgpassEntry],
    host: &str,
    port: &str,
    db: &str,
    user: &str,
) -> Option<String> {
    if db.is_empty() || user.is_empty() {
        return None;
    }
    let host = if host.is_empty() { "localhost" } else { host };
    let port = if port.is_empty() { "5432" } else { port };
    entries
        .iter()
        .find(|e| {
            e.host.matches(host)
                && e.port.matches(port)
                && e.dbname.matches(db)
                && e.user.matches(user)
        })
        .map(|e| e.password.clone())
}

/// The host name a password-file lookup uses: `localhost` for no host or for a default socket
/// directory (compared as given, without canonicalizing, as libpq), else the host itself.
pub fn pgpass_host(host: &str, default_socket_dirs: &[&str]) -> String {
    if host.is_empty() || default_socket_dirs.contains(&host) {
        "localhost".to_string()
    } else {
        host.to_string()
    }
}

/// Why the password file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgpassSkip {
    /// stat() failed: no file (or a directory on the way is unreadable). libpq says nothing.
    NotFound {
        path: PathBuf,
    },
    NotRegularFile {
        path: PathBuf,
    },
    /// Group or world may access it; `mode` is the permission bits.
    Permissions {
        path: PathBuf,
        mode: u32,
    },
    /// It passed the checks but could not be read. libpq says nothing.
    Unreadable {
        path: PathBuf,
        error: String,
    },
}

impl PgpassSkip {
    /// The line libpq prints on stderr for this case, if it prints one.
    pub fn warning(&self) -> Option<String> {
        match self {
            PgpassSkip::NotRegularFile { .. } | PgpassSkip::Permissions { .. } => {
                Some(self.to_string())
            }
            PgpassSkip::NotFound { .. } | PgpassSkip::Unreadable { .. } => None,
        }
    }
}

impl fmt::Display for PgpassSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgpassSkip::NotFound { path } => {
                write!(f, "password file \"{}\" not found", path.display())
            }
            PgpassSkip::NotRegularFile { path } => write!(
                f,
                "WARNING: password file \"{}\" is not a plain file",
                path.display()
            ),
            PgpassSkip::Permissions { path, .. } => write!(
                f,
                "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            ),
            PgpassSkip::Unreadable { path, error } => write!(
                f,
                "could not read password file \"{}\": {}",
                path.display(),
                error.replace('\n', " ")
            ),
        }
    }
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &fs::Metadata) -> Result<(), PgpassSkip> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(PgpassSkip::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _meta: &fs::Metadata) -> Result<(), PgpassSkip> {
    Ok(())
}

/// Reads the password file with libpq's checks: a plain file, no group or world access.
pub fn read_pgpass(path: &Path) -> Result<Vec<PgpassEntry>, PgpassSkip> {
    let meta = fs::metadata(path).map_err(|_| PgpassSkip::NotFound {
        path: path.to_path_buf(),
    })?;
    if !meta.is_file() {
        return Err(PgpassSkip::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    check_mode(path, &meta)?;
    let bytes = fs::read(path).map_err(|e| PgpassSkip::Unreadable {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    Ok(parse_pgpass(&String::from_utf8_lossy(&bytes)))
}

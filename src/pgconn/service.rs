//! pg_service.conf, read exactly as libpq 15 reads it (fe-connect.c `parseServiceInfo` and
//! `parseServiceFile`).
//!
//! The format is narrower than a general INI file: a line is trimmed at both ends, but the key
//! is everything before the first `=` and the value everything after it, so `host = db` is a
//! syntax error in libpq and here.

use std::fs;
use std::path::{Path, PathBuf};

use super::conninfo::is_keyword;
use super::env::Env;
use super::params::{ConfigError, Params};

/// The compiled-in SYSCONFDIR of Debian's libpq, where the system-wide file lives.
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// libpq reads with a 1024-byte `fgets` buffer and rejects any line that fills it.
const LINE_BUFFER: usize = 1024;

/// One candidate service file, in the state libpq would find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceFile {
    /// Not there: libpq checks `~/.pg_service.conf` and the system file with stat() first
    /// and silently moves on.
    Absent(PathBuf),
    /// Could not be opened: a missing `PGSERVICEFILE` (libpq opens it without a stat()), or
    /// any file that exists but cannot be read. libpq reports it as not found.
    Unopenable(PathBuf),
    Loaded {
        path: PathBuf,
        text: String,
    },
}

impl ServiceFile {
    /// Reads `path`; `must_open` is for `PGSERVICEFILE`, which libpq never skips.
    pub fn load(path: PathBuf, must_open: bool) -> ServiceFile {
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) if !must_open => return ServiceFile::Absent(path),
            Err(_) => return ServiceFile::Unopenable(path),
        };
        // fopen() of a directory succeeds and then reads nothing.
        if meta.is_dir() {
            return ServiceFile::Loaded {
                path,
                text: String::new(),
            };
        }
        match fs::read(&path) {
            Ok(bytes) => ServiceFile::Loaded {
                path,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            },
            Err(_) => ServiceFile::Unopenable(path),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            ServiceFile::Absent(path) | ServiceFile::Unopenable(path) => path,
            ServiceFile::Loaded { path, .. } => path,
        }
    }
}

/// The files libpq consults, in order: `PGSERVICEFILE` or `~/.pg_service.conf`, then
/// `$PGSYSCONFDIR/pg_service.conf` (else the compiled-in directory).
pub fn service_files(env: &dyn Env) -> Vec<ServiceFile> {
    let mut files = Vec::with_capacity(2);
    if let Some(named) = env.var("PGSERVICEFILE") {
        files.push(ServiceFile::load(PathBuf::from(named), true));
    } else if let Some(home) = env.home() {
        files.push(ServiceFile::load(home.join(".pg_service.conf"), false));
    }
    let sysconfdir = env
        .var("PGSYSCONFDIR")
        .unwrap_or_else(|| DEFAULT_SYSCONFDIR.to_string());
    let system = PathBuf::from(format!("{sysconfdir}/pg_service.conf"));
    files.push(ServiceFile::load(system, false));
    files
}

/// The settings of service `name` from the first file that defines it: the whole section of
/// that file, never merged with another file's.
pub fn lookup_service(name: &str, files: &[ServiceFile]) -> Result<Params, ConfigError> {
    for file in files {
        match file {
            ServiceFile::Absent(_) => {}
            ServiceFile::Unopenable(path) => {
                return Err(ConfigError::ServiceFileNotFound {
                    path: path.display().to_string(),
                });
            }
            ServiceFile::Loaded { path, text } => {
                if let Some(params) = find_service(text, &path.display().to_string(), name)? {
                    return Ok(params);
                }
            }
        }
    }
    Err(ConfigError::ServiceNotFound {
        service: name.to_string(),
    })
}

/// Service `name` from one file's text, read as libpq does: only the first matching section
/// is checked for errors, and reading stops where it ends.
pub fn find_service(
    text: &str,
    path_for_errors: &str,
    name: &str,
) -> Result<Option<Params>, ConfigError> {
    let mut sections = scan(text, path_for_errors, Some(name))?;
    Ok(sections.pop().map(|(_, params)| params))
}

/// Every section of a service file, in file order (a name may repeat; libpq uses the first).
/// Unlike a lookup, every section is checked. Lines before the first section are ignored, as
/// libpq ignores every line outside the section it is looking for.
pub fn parse_service_file(
    text: &str,
    path_for_errors: &str,
) -> Result<Vec<(String, Params)>, ConfigError> {
    scan(text, path_for_errors, None)
}

/// C's `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The section a `[...]` line opens: with `wanted`, libpq's prefix test (`[name]` followed by
/// anything); without, the text up to the first `]`.
fn section_name(line: &str, wanted: Option<&str>) -> Option<String> {
    let inner = &line[1..];
    match wanted {
        Some(name) => (inner.starts_with(name) && inner[name.len()..].starts_with(']'))
            .then(|| name.to_string()),
        None => inner.find(']').map(|end| inner[..end].to_string()),
    }
}

fn scan(
    text: &str,
    path: &str,
    wanted: Option<&str>,
) -> Result<Vec<(String, Params)>, ConfigError> {
    let mut sections = Vec::new();
    let mut current: Option<(String, Params)> = None;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        if raw.len() >= LINE_BUFFER - 1 {
            return Err(ConfigError::ServiceFileLineTooLong {
                path: path.to_string(),
                line: line_no,
            });
        }
        let line = raw.trim_matches(is_c_space);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            if let Some(done) = current.take() {
                sections.push(done);
                if wanted.is_some() {
                    return Ok(sections);
                }
            }
            current = section_name(line, wanted).map(|name| (name, Params::new()));
            continue;
        }
        if let Some((_, params)) = current.as_mut() {
            parse_setting(line, path, line_no, params)?;
        }
    }
    sections.extend(current);
    Ok(sections)
}

/// One `key=value` line inside a section.
fn parse_setting(
    line_text: &str,
    path: &str,
    line_no: usize,
    params: &mut Params,
) -> Result<(), ConfigError> {
    let (path, line) = (path.to_string(), line_no);
    // Debian's libpq hands such lines to an LDAP lookup, which mvtop cannot do.
    if line_text.starts_with("ldap") {
        return Err(ConfigError::ServiceFileLdap { path, line });
    }
    let Some((key, value)) = line_text.split_once('=') else {
        return Err(ConfigError::ServiceFileSyntax { path, line });
    };
    if key == "service" {
        return Err(ConfigError::ServiceFileNested { path, line });
    }
    if !is_keyword(key) {
        return Err(ConfigError::ServiceFileSyntax { path, line });
    }
    // libpq keeps the first value a section gives for a keyword.
    if !params.contains(key) {
        params.set(key, value);
    }
    Ok(())
}

//! pg_service.conf, read exactly as libpq 15 reads it (fe-connect.c `parseServiceInfo` and
//! `parseServiceFile`).
//!
//! The format is narrower than a general INI file: a line is trimmed at both ends, but the key
//! is everything before the first `=` and the value everything after it, so `host = db` is a
//! syntax error in libpq and here.

use std::fs;
use std::path::{Path, PathBuf};

use super::conninfo::is_keyword;
use super::params::{ConfigError, Params};
use super::resolve::Env;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const PATH: &str = "/etc/pg_service.conf";

    fn pairs(list: &[(&str, &str)]) -> Params {
        list.iter().copied().collect()
    }

    fn loaded(path: &str, text: &str) -> ServiceFile {
        ServiceFile::Loaded {
            path: PathBuf::from(path),
            text: text.to_string(),
        }
    }

    fn find(text: &str, name: &str) -> Result<Option<Params>, ConfigError> {
        find_service(text, PATH, name)
    }

    #[test]
    fn parses_sections_comments_and_blank_lines() {
        let text = "\
# a comment
  # an indented comment

[main]
host=db.example.com
port=5433

[other]
  dbname=reports  \t
user=bob
";
        assert_eq!(
            parse_service_file(text, PATH).unwrap(),
            vec![
                (
                    "main".to_string(),
                    pairs(&[("host", "db.example.com"), ("port", "5433")])
                ),
                (
                    "other".to_string(),
                    pairs(&[("dbname", "reports"), ("user", "bob")])
                ),
            ]
        );
    }

    #[test]
    fn value_is_everything_after_the_first_equals() {
        let p = find("[s]\noptions=-c search_path=a,b # not a comment\n", "s")
            .unwrap()
            .unwrap();
        assert_eq!(p.get("options"), Some("-c search_path=a,b # not a comment"));
        let p = find("[s]\nhost=\n", "s").unwrap().unwrap();
        assert_eq!(p.get("host"), Some(""));
    }

    #[test]
    fn blanks_around_equals_are_a_syntax_error_as_in_libpq() {
        assert_eq!(
            find("[s]\nhost = db\n", "s").unwrap_err().to_string(),
            "syntax error in service file \"/etc/pg_service.conf\", line 2"
        );
        // A blank after '=' is kept as part of the value.
        let p = find("[s]\nhost= db\n", "s").unwrap().unwrap();
        assert_eq!(p.get("host"), Some(" db"));
    }

    #[test]
    fn first_value_for_a_keyword_wins() {
        let p = find("[s]\nport=1\nport=2\n", "s").unwrap().unwrap();
        assert_eq!(p.get("port"), Some("1"));
    }

    #[test]
    fn crlf_line_endings() {
        let p = find("[s]\r\nhost=h\r\nport=1\r\n", "s").unwrap().unwrap();
        assert_eq!(p, pairs(&[("host", "h"), ("port", "1")]));
    }

    #[test]
    fn unknown_keyword_is_a_syntax_error() {
        assert_eq!(
            find("[s]\nhost=h\nhots=x\n", "s").unwrap_err(),
            ConfigError::ServiceFileSyntax {
                path: PATH.into(),
                line: 3
            }
        );
        // libpq's requiressl alias is for conninfo strings only.
        assert!(find("[s]\nrequiressl=1\n", "s").is_err());
    }

    #[test]
    fn line_without_equals_is_a_syntax_error() {
        assert_eq!(
            find("\n[s]\n\nhost\n", "s").unwrap_err().to_string(),
            "syntax error in service file \"/etc/pg_service.conf\", line 4"
        );
    }

    #[test]
    fn nested_service_is_an_error() {
        assert_eq!(
            find("[s]\nservice=t\n", "s").unwrap_err().to_string(),
            "nested service specifications not supported in service file \"/etc/pg_service.conf\", line 2"
        );
    }

    #[test]
    fn ldap_lines_are_refused() {
        assert_eq!(
            find("[s]\nldap://ldap.example.com/dc=x?y?one?(cn=s)\n", "s").unwrap_err(),
            ConfigError::ServiceFileLdap {
                path: PATH.into(),
                line: 2
            }
        );
    }

    #[test]
    fn over_long_line_is_an_error_anywhere_before_the_end_of_the_section() {
        let long = format!("# {}\n[s]\nhost=h\n", "x".repeat(1100));
        assert_eq!(
            find(&long, "s").unwrap_err().to_string(),
            "line 1 too long in service file \"/etc/pg_service.conf\""
        );
        // 1021 characters plus the newline fit libpq's buffer; one more does not.
        let fits = format!("[s]\noptions={}\n", "x".repeat(1021 - "options=".len()));
        assert!(find(&fits, "s").unwrap().is_some());
        let too_long = format!("[s]\noptions={}\n", "x".repeat(1022 - "options=".len()));
        assert!(find(&too_long, "s").is_err());
    }

    #[test]
    fn lookup_checks_only_the_wanted_section() {
        let text = "[broken]\nnonsense\n[s]\nhost=h\n[later]\nalso nonsense\n";
        assert_eq!(find(text, "s").unwrap(), Some(pairs(&[("host", "h")])));
        assert!(parse_service_file(text, PATH).is_err());
    }

    #[test]
    fn lookup_uses_the_first_of_repeated_sections() {
        let text = "[s]\nhost=first\n[s]\nhost=second\n";
        assert_eq!(find(text, "s").unwrap(), Some(pairs(&[("host", "first")])));
        let all = parse_service_file(text, PATH).unwrap();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn section_header_matches_like_libpq() {
        // libpq compares a prefix and then wants ']' - anything may follow it.
        assert!(find("[s] # comment\nhost=h\n", "s").unwrap().is_some());
        assert!(find("[s2]\nhost=h\n", "s").unwrap().is_none());
        assert!(find("[s\nhost=h\n", "s").unwrap().is_none());
        assert!(find("  [s]  \nhost=h\n", "s").unwrap().is_some());
        // Names are case-sensitive.
        assert!(find("[S]\nhost=h\n", "s").unwrap().is_none());
    }

    #[test]
    fn lines_outside_sections_are_ignored() {
        let text = "stray line\nhost=x\n[s]\nport=1\n";
        assert_eq!(find(text, "s").unwrap(), Some(pairs(&[("port", "1")])));
        assert_eq!(parse_service_file(text, PATH).unwrap().len(), 1);
    }

    #[test]
    fn empty_section_is_found() {
        assert_eq!(
            find("[s]\n[t]\nhost=h\n", "s").unwrap(),
            Some(Params::new())
        );
        assert_eq!(find("", "s").unwrap(), None);
    }

    #[test]
    fn user_file_wins_over_system_file() {
        let files = [
            loaded("/home/u/.pg_service.conf", "[s]\nhost=user-host\n"),
            loaded("/etc/pg_service.conf", "[s]\nhost=system-host\nport=9\n"),
        ];
        // The whole section comes from the first file that has it: no port from the system.
        assert_eq!(
            lookup_service("s", &files).unwrap(),
            pairs(&[("host", "user-host")])
        );
    }

    #[test]
    fn falls_through_to_system_file() {
        let files = [
            loaded("/home/u/.pg_service.conf", "[other]\nhost=x\n"),
            loaded("/etc/pg_service.conf", "[s]\nhost=system-host\n"),
        ];
        assert_eq!(
            lookup_service("s", &files).unwrap(),
            pairs(&[("host", "system-host")])
        );
    }

    #[test]
    fn absent_files_are_skipped() {
        let files = [
            ServiceFile::Absent(PathBuf::from("/home/u/.pg_service.conf")),
            loaded("/etc/pg_service.conf", "[s]\nport=1\n"),
        ];
        assert_eq!(
            lookup_service("s", &files).unwrap(),
            pairs(&[("port", "1")])
        );
    }

    #[test]
    fn unopenable_file_is_reported_as_not_found() {
        let files = [
            ServiceFile::Unopenable(PathBuf::from("/nope/services")),
            loaded("/etc/pg_service.conf", "[s]\nport=1\n"),
        ];
        assert_eq!(
            lookup_service("s", &files).unwrap_err().to_string(),
            "service file \"/nope/services\" not found"
        );
    }

    #[test]
    fn error_in_user_file_stops_the_lookup() {
        let files = [
            loaded("/home/u/.pg_service.conf", "[s]\nbogus=1\n"),
            loaded("/etc/pg_service.conf", "[s]\nport=1\n"),
        ];
        assert_eq!(
            lookup_service("s", &files).unwrap_err().to_string(),
            "syntax error in service file \"/home/u/.pg_service.conf\", line 2"
        );
    }

    #[test]
    fn missing_service() {
        let files = [loaded("/etc/pg_service.conf", "[s]\nport=1\n")];
        assert_eq!(
            lookup_service("nope", &files).unwrap_err().to_string(),
            "definition of service \"nope\" not found"
        );
        assert_eq!(
            lookup_service("nope", &[]).unwrap_err(),
            ConfigError::ServiceNotFound {
                service: "nope".into()
            }
        );
    }

    struct FakeEnv {
        vars: HashMap<&'static str, String>,
        home: Option<PathBuf>,
    }

    impl Env for FakeEnv {
        fn var(&self, k: &str) -> Option<String> {
            self.vars.get(k).filter(|v| !v.is_empty()).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            self.home.clone()
        }
        fn os_user(&self) -> String {
            "u".into()
        }
        fn path_exists(&self, p: &Path) -> bool {
            p.exists()
        }
    }

    #[test]
    fn which_files_are_consulted() {
        let home = tempfile::tempdir().unwrap();
        let sys = tempfile::tempdir().unwrap();
        fs::write(home.path().join(".pg_service.conf"), "[s]\nport=1\n").unwrap();
        let sys_dir = sys.path().display().to_string();
        let mut env = FakeEnv {
            vars: HashMap::from([("PGSYSCONFDIR", sys_dir.clone())]),
            home: Some(home.path().to_path_buf()),
        };
        let files = service_files(&env);
        assert_eq!(
            files,
            vec![
                loaded(
                    &home.path().join(".pg_service.conf").display().to_string(),
                    "[s]\nport=1\n"
                ),
                ServiceFile::Absent(PathBuf::from(format!("{sys_dir}/pg_service.conf"))),
            ]
        );

        // PGSERVICEFILE replaces the per-user file, and a missing one cannot be opened.
        env.vars
            .insert("PGSERVICEFILE", "/nonexistent/services.conf".into());
        let files = service_files(&env);
        assert_eq!(
            files[0],
            ServiceFile::Unopenable(PathBuf::from("/nonexistent/services.conf"))
        );
        assert_eq!(
            lookup_service("s", &files).unwrap_err().to_string(),
            "service file \"/nonexistent/services.conf\" not found"
        );

        // Without a home directory only the system file is left.
        env.vars.remove("PGSERVICEFILE");
        env.home = None;
        assert_eq!(service_files(&env).len(), 1);
    }

    #[test]
    fn default_system_file_location() {
        let env = FakeEnv {
            vars: HashMap::new(),
            home: None,
        };
        assert_eq!(
            service_files(&env)[0].path(),
            Path::new("/etc/postgresql-common/pg_service.conf")
        );
    }

    #[test]
    fn load_states() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.conf");
        assert_eq!(
            ServiceFile::load(missing.clone(), false),
            ServiceFile::Absent(missing.clone())
        );
        assert_eq!(
            ServiceFile::load(missing.clone(), true),
            ServiceFile::Unopenable(missing)
        );
        assert_eq!(
            ServiceFile::load(dir.path().to_path_buf(), false),
            ServiceFile::Loaded {
                path: dir.path().to_path_buf(),
                text: String::new()
            }
        );
    }
}

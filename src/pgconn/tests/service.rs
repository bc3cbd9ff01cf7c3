//! `service`: service files, read and looked up as libpq does.

use std::fs;
use std::path::{Path, PathBuf};

use super::FakeEnv;
use crate::pgconn::service::*;
use crate::pgconn::{ConfigError, Params};

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

#[test]
fn which_files_are_consulted() {
    let home = tempfile::tempdir().unwrap();
    let sys = tempfile::tempdir().unwrap();
    fs::write(home.path().join(".pg_service.conf"), "[s]\nport=1\n").unwrap();
    let sys_dir = sys.path().display().to_string();
    let mut env = FakeEnv::new().with_var("PGSYSCONFDIR", &sys_dir);
    env.home = Some(home.path().to_path_buf());
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
        .insert("PGSERVICEFILE".into(), "/nonexistent/services.conf".into());
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
    let mut env = FakeEnv::new();
    env.vars.remove("PGSYSCONFDIR");
    env.home = None;
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

//! `pgpass`: the password file, parsed, matched and checked as libpq does.

use std::fs;
use std::path::{Path, PathBuf};

use crate::pgconn::REDACTED;
use crate::pgconn::pgpass::*;

fn exact(s: &str) -> PgpassField {
    PgpassField::Exact(s.to_string())
}

fn lookup(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    find_password(&parse_pgpass(text), host, port, db, user)
}

#[test]
fn parses_fields() {
    assert_eq!(
        parse_pgpass("db.example.com:5432:app:alice:s3cret\n"),
        vec![PgpassEntry {
            host: exact("db.example.com"),
            port: exact("5432"),
            dbname: exact("app"),
            user: exact("alice"),
            password: "s3cret".into(),
        }]
    );
}

#[test]
fn exact_match() {
    let text = "h:5432:db:u:pw\n";
    assert_eq!(lookup(text, "h", "5432", "db", "u").as_deref(), Some("pw"));
    assert_eq!(lookup(text, "H", "5432", "db", "u"), None);
    assert_eq!(lookup(text, "h", "5433", "db", "u"), None);
    assert_eq!(lookup(text, "h", "5432", "db2", "u"), None);
    assert_eq!(lookup(text, "h", "5432", "db", "u2"), None);
    assert_eq!(lookup(text, "hh", "5432", "db", "u"), None);
    assert_eq!(lookup(text, "", "5432", "db", "u"), None);
}

#[test]
fn wildcards() {
    let text = "*:*:*:*:any\n";
    assert_eq!(lookup(text, "x", "1", "d", "u").as_deref(), Some("any"));
    let text = "h:*:reports:*:rpw\n";
    assert_eq!(
        lookup(text, "h", "7", "reports", "bob").as_deref(),
        Some("rpw")
    );
    assert_eq!(lookup(text, "h", "7", "other", "bob"), None);
}

#[test]
fn star_only_as_a_whole_field() {
    // "*x" is literal, and an escaped star is a literal star.
    let text = "*x:*:*:*:a\n\\*:*:*:*:b\n";
    assert_eq!(lookup(text, "h", "1", "d", "u"), None);
    assert_eq!(lookup(text, "*x", "1", "d", "u").as_deref(), Some("a"));
    assert_eq!(lookup(text, "*", "1", "d", "u").as_deref(), Some("b"));
}

#[test]
fn escapes() {
    let text = "\\:\\:1:5432:my\\\\db:u\\:x:pa\\:ss\\\\word\n";
    let entries = parse_pgpass(text);
    assert_eq!(entries[0].host, exact("::1"));
    assert_eq!(entries[0].dbname, exact("my\\db"));
    assert_eq!(entries[0].user, exact("u:x"));
    assert_eq!(entries[0].password, "pa:ss\\word");
    assert_eq!(
        lookup(text, "::1", "5432", "my\\db", "u:x").as_deref(),
        Some("pa:ss\\word")
    );
}

#[test]
fn password_ends_at_unescaped_colon() {
    assert_eq!(
        lookup("h:1:d:u:pw:extra:fields\n", "h", "1", "d", "u").as_deref(),
        Some("pw")
    );
}

#[test]
fn trailing_backslash_in_password_is_kept() {
    assert_eq!(
        lookup("h:1:d:u:pw\\\n", "h", "1", "d", "u").as_deref(),
        Some("pw\\")
    );
}

#[test]
fn trailing_backslash_in_a_field_never_matches() {
    assert!(parse_pgpass("h\\").is_empty());
}

#[test]
fn empty_password() {
    assert_eq!(
        lookup("h:1:d:u:\n", "h", "1", "d", "u").as_deref(),
        Some("")
    );
}

#[test]
fn first_match_wins() {
    let text = "h:1:d:u:first\n*:*:*:*:fallback\nh:1:d:u:second\n";
    assert_eq!(lookup(text, "h", "1", "d", "u").as_deref(), Some("first"));
    assert_eq!(
        lookup(text, "x", "1", "d", "u").as_deref(),
        Some("fallback")
    );
}

#[test]
fn comments_blank_and_short_lines_are_ignored() {
    let text = "# h:1:d:u:commented\n\n  \nh:1:d:u\nh:1:d\n#*:*:*:*:no\nh:1:d:u:yes\n";
    assert_eq!(parse_pgpass(text).len(), 1);
    assert_eq!(lookup(text, "h", "1", "d", "u").as_deref(), Some("yes"));
}

#[test]
fn indented_hash_is_not_a_comment() {
    assert_eq!(
        lookup(" #h:1:d:u:pw\n", " #h", "1", "d", "u").as_deref(),
        Some("pw")
    );
}

#[test]
fn crlf_and_missing_final_newline() {
    let text = "a:1:d:u:one\r\nb:1:d:u:two";
    assert_eq!(lookup(text, "a", "1", "d", "u").as_deref(), Some("one"));
    assert_eq!(lookup(text, "b", "1", "d", "u").as_deref(), Some("two"));
}

#[test]
fn defaults_for_empty_host_and_port() {
    let text = "localhost:5432:d:u:pw\n";
    assert_eq!(lookup(text, "", "", "d", "u").as_deref(), Some("pw"));
}

#[test]
fn empty_database_or_user_never_matches() {
    let text = "*:*:*:*:pw\n";
    assert_eq!(lookup(text, "h", "1", "", "u"), None);
    assert_eq!(lookup(text, "h", "1", "d", ""), None);
}

#[test]
fn socket_directories_map_to_localhost() {
    let defaults = ["/var/run/postgresql", "/tmp"];
    assert_eq!(pgpass_host("", &defaults), "localhost");
    assert_eq!(pgpass_host("/var/run/postgresql", &defaults), "localhost");
    assert_eq!(pgpass_host("/tmp", &defaults), "localhost");
    assert_eq!(pgpass_host("/srv/pg", &defaults), "/srv/pg");
    // Compared as given, like libpq.
    assert_eq!(pgpass_host("/tmp/", &defaults), "/tmp/");
    assert_eq!(pgpass_host("db.example.com", &defaults), "db.example.com");
    let text = "localhost:5432:d:u:local\n/srv/pg:5432:d:u:custom\n";
    let host = pgpass_host("/var/run/postgresql", &defaults);
    assert_eq!(
        lookup(text, &host, "5432", "d", "u").as_deref(),
        Some("local")
    );
    let host = pgpass_host("/srv/pg", &defaults);
    assert_eq!(
        lookup(text, &host, "5432", "d", "u").as_deref(),
        Some("custom")
    );
}

#[test]
fn debug_hides_password() {
    let entries = parse_pgpass("h:1:d:u:hunter2\n");
    let shown = format!("{entries:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains(REDACTED), "{shown}");
}

#[cfg(unix)]
fn write_with_mode(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("pgpass-{mode:o}"));
    fs::write(&path, "h:1:d:u:pw\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn owner_only_modes_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o400] {
        let path = write_with_mode(dir.path(), mode);
        let entries = read_pgpass(&path).unwrap();
        assert_eq!(
            find_password(&entries, "h", "1", "d", "u").as_deref(),
            Some("pw")
        );
    }
}

#[cfg(unix)]
#[test]
fn group_or_world_access_is_refused_with_libpqs_warning() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let path = write_with_mode(dir.path(), mode);
        let skip = read_pgpass(&path).unwrap_err();
        assert_eq!(
            skip,
            PgpassSkip::Permissions {
                path: path.clone(),
                mode
            }
        );
        assert_eq!(
            skip.warning().unwrap(),
            format!(
                "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            )
        );
    }
}

#[test]
fn missing_file_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    let skip = read_pgpass(&path).unwrap_err();
    assert_eq!(skip, PgpassSkip::NotFound { path });
    assert_eq!(skip.warning(), None);
}

#[test]
fn directory_is_not_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let skip = read_pgpass(dir.path()).unwrap_err();
    assert_eq!(
        skip.warning().unwrap(),
        format!(
            "WARNING: password file \"{}\" is not a plain file",
            dir.path().display()
        )
    );
}

#[test]
fn unreadable_is_silent() {
    let skip = PgpassSkip::Unreadable {
        path: PathBuf::from("/x"),
        error: "Permission denied".into(),
    };
    assert_eq!(skip.warning(), None);
    assert_eq!(
        skip.to_string(),
        "could not read password file \"/x\": Permission denied"
    );
}

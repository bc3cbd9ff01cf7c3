//! Property tests of every parser of user input: connection strings and URIs, pgpass and
//! service files, the resolver, durations, cron expressions, windows, the schedule line,
//! qualified names, key names and the config file. Whatever the input: no panic, and an
//! error is one line that never repeats a password.

use std::path::{Path, PathBuf};

use mvtop::catalog::names::parse_qualified_name;
use mvtop::pgconn::conninfo::{parse_conninfo, parse_dbname_arg, parse_uri};
use mvtop::pgconn::pgpass::parse_pgpass;
use mvtop::pgconn::service::parse_service_file;
use mvtop::pgconn::{Env, resolve};
use proptest::prelude::*;

const SECRET: &str = "Sekr1t-pw";

/// Text made mostly of the characters these syntaxes give meaning to.
fn syntax_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "=",
        "'",
        "\\",
        " ",
        "%",
        "%2",
        "%zz",
        "@",
        ":",
        "/",
        "?",
        "&",
        "#",
        "[",
        "]",
        ",",
        ";",
        "\n",
        "\t",
        "*",
        "-",
        "host",
        "port",
        "dbname",
        "user",
        "password",
        "sslmode",
        "service",
        "postgresql://",
        "postgres://",
        "localhost",
        "5432",
        "[::1]",
        "é",
        "\u{0}",
        "0",
        "65536",
        "verify-full",
        "disable",
        "x",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![syntax_soup(), any::<String>()]
}

fn one_line(e: &str) {
    assert!(!e.contains('\n'), "error of more than one line: {e:?}");
}

struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn home(&self) -> Option<PathBuf> {
        None
    }
    fn os_user(&self) -> String {
        "fuzz".into()
    }
    fn path_exists(&self, _: &Path) -> bool {
        false
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn connection_strings_and_uris(text in any_text()) {
        for result in [parse_dbname_arg(&text), parse_conninfo(&text), parse_uri(&text)] {
            match result {
                Ok(params) => {
                    // Whatever parsed goes through the resolver without a panic too.
                    if let Err(e) = resolve(&params, &NoEnv) {
                        one_line(&e.to_string());
                    }
                }
                Err(e) => one_line(&e.to_string()),
            }
        }
    }

    #[test]
    fn a_password_never_appears_in_an_error(before in syntax_soup(), after in syntax_soup()) {
        let forms = [
            format!("{before} password={SECRET} {after}"),
            format!("{before} password='{SECRET}{after}"),
            format!("postgresql://u:{SECRET}@{before}/{after}"),
            format!("postgresql://u:{SECRET}@{after}"),
            format!("postgresql://u:{SECRET}@h/db?{after}"),
        ];
        for text in forms {
            let errors = [parse_dbname_arg(&text).err(), parse_conninfo(&text).err(), parse_uri(&text).err()];
            for e in errors.into_iter().flatten() {
                let e = e.to_string();
                prop_assert!(!e.contains(SECRET), "{e:?} from {text:?}");
            }
        }
    }

    #[test]
    fn pgpass_and_service_files(text in any_text()) {
        let _ = parse_pgpass(&text);
        if let Err(e) = parse_service_file(&text, "pg_service.conf") {
            one_line(&e.to_string());
            prop_assert!(!e.to_string().contains(SECRET));
        }
    }

    #[test]
    fn service_file_errors_keep_passwords_out(junk in syntax_soup()) {
        let text = format!("[svc]\npassword={SECRET}\n{junk}\n");
        if let Err(e) = parse_service_file(&text, "pg_service.conf") {
            prop_assert!(!e.to_string().contains(SECRET), "{e}");
        }
    }

    #[test]
    fn durations_cron_windows_and_schedule_lines(text in any_text()) {
        if let Err(e) = mvtop::format::parse_duration(&text) { one_line(&e) }
        if let Err(e) = mvtop::schedule::cron::CronSpec::parse(&text, "UTC") { one_line(&e) }
        if let Err(e) = mvtop::schedule::cron::CronSpec::parse("0 * * * *", &text) { one_line(&e) }
        if let Err(e) = mvtop::schedule::Window::parse(&text, chrono_tz::Tz::UTC) { one_line(&e) }
        match mvtop::schedule::text::parse(&text) {
            Ok(mvtop::schedule::text::Edit::Set { input, .. }) => {
                if let Err(e) = input.parse("UTC") { one_line(&e) }
            }
            Ok(mvtop::schedule::text::Edit::Remove) => {}
            Err(e) => one_line(&e),
        }
    }

    #[test]
    fn cron_like_text(fields in prop::collection::vec(
        prop::sample::select(vec!["*", "*/5", "0", "59", "60", "1-5", "5-1", "L", "5#2", "15W", "MON", "JAN", "?", ",", "-", "/", "0/0", "99999999999"]),
        0..8,
    )) {
        let expr = fields.join(" ");
        if let Ok(c) = mvtop::schedule::cron::CronSpec::parse(&expr, "Europe/Paris") {
            let now = chrono::Utc::now();
            let _ = c.next_after(now);
            let _ = c.latest_at_or_before(now);
        }
    }

    #[test]
    fn names_keys_and_config(text in any_text()) {
        if let Err(e) = parse_qualified_name(&text) { one_line(&e) }
        if let Err(e) = mvtop::tui::keymap::parse_key(&text) { one_line(&e) }
        if let Err(e) = mvtop::config::Config::parse(&text).and_then(|c| c.keymap()) { one_line(&e) }
        let as_keys = format!("[keys]\nrefresh = [\"{}\"]\n", text.replace(['"', '\\', '\n'], ""));
        if let Err(e) = mvtop::config::Config::parse(&as_keys).and_then(|c| c.keymap()) { one_line(&e) }
    }
}

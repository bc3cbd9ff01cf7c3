//! A bad `config.toml` stops the console before the screen switches: one line on stderr
//! naming the file, the line and the column; never a panic.

mod common;

#[tokio::test]
async fn a_bad_config_file_is_one_line_naming_the_file_and_line() {
    let (db, _s) = common::fresh_db("config").await;
    let cases = [
        ("[keys]\nrefresh = 5\n", "line 2, column 11"),
        ("[keys]\nquit = \"Q\"\nrefrsh = \"r\"\n", "line 3"),
        ("[keys]\nrefresh = \"Ctrl-Nope\"\n", "line 2"),
        ("[keys]\nhelp = \"?\"\nrefresh = \"q\"\n", "line 3"),
        ("[colours]\nx = 1\n", "line 1"),
        ("[keys\n", "line 1"),
    ];
    for (text, line) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("mvtop")).unwrap();
        let file = dir.path().join("mvtop").join("config.toml");
        std::fs::write(&file, text).unwrap();
        let out = common::mvtop(&db)
            .args(["--read-only"])
            .env("XDG_CONFIG_HOME", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{text:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains(&format!("{}: {line}", file.display())),
            "{text:?}: {err}"
        );
    }
}

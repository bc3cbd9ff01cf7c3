//! The one fake `Env` of pgconn's tests: chosen variables, user and sockets, over a real
//! temporary home and system configuration directory.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::pgconn::Env;

/// A fake environment with a real temporary home and system configuration directory.
pub struct FakeEnv {
    pub vars: HashMap<String, String>,
    pub home: Option<PathBuf>,
    pub user: String,
    pub sockets: HashSet<PathBuf>,
    pub home_dir: TempDir,
    pub sysconf_dir: TempDir,
}

impl FakeEnv {
    pub fn new() -> FakeEnv {
        let home_dir = tempfile::tempdir().unwrap();
        let sysconf_dir = tempfile::tempdir().unwrap();
        let mut vars = HashMap::new();
        // Never read the machine's own /etc/postgresql-common/pg_service.conf.
        vars.insert(
            "PGSYSCONFDIR".to_string(),
            sysconf_dir.path().display().to_string(),
        );
        FakeEnv {
            vars,
            home: Some(home_dir.path().to_path_buf()),
            user: "alice".into(),
            sockets: HashSet::new(),
            home_dir,
            sysconf_dir,
        }
    }

    pub fn with_var(mut self, k: &str, v: &str) -> FakeEnv {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }

    pub fn with_socket(mut self, path: &str) -> FakeEnv {
        self.sockets.insert(PathBuf::from(path));
        self
    }

    pub fn home_path(&self) -> &Path {
        self.home_dir.path()
    }

    pub fn write_home(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.home_path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    pub fn write_system_services(&self, text: &str) {
        fs::write(self.sysconf_dir.path().join("pg_service.conf"), text).unwrap();
    }
}

impl Env for FakeEnv {
    fn var(&self, k: &str) -> Option<String> {
        self.vars.get(k).filter(|v| !v.is_empty()).cloned()
    }
    fn home(&self) -> Option<PathBuf> {
        self.home.clone()
    }
    fn os_user(&self) -> String {
        self.user.clone()
    }
    fn path_exists(&self, p: &Path) -> bool {
        // Real files only inside the fake home, so the machine's sockets never leak in.
        self.sockets.contains(p) || (p.starts_with(self.home_dir.path()) && p.exists())
    }
}

//! `env`: the real environment.

use std::path::Path;

use crate::pgconn::{Env, SystemEnv};

#[test]
fn system_env_basics() {
    let env = SystemEnv;
    assert_eq!(env.var("MVTOP_SURELY_UNSET_VARIABLE_42"), None);
    assert!(!env.os_user().is_empty());
    assert!(env.path_exists(Path::new("/")));
    assert!(!env.path_exists(Path::new("/surely/not/here/42")));
}

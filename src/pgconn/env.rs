//! What resolution reads from the outside world: environment variables, the home directory,
//! the operating-system user and which files exist. `SystemEnv` is the real one; tests fake it.

use std::path::{Path, PathBuf};

/// What resolution reads from the outside world, so tests can fake it.
pub trait Env {
    /// An environment variable; unset and empty are both `None`.
    fn var(&self, k: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
    /// The operating-system user name, empty if it cannot be found.
    fn os_user(&self) -> String;
    fn path_exists(&self, p: &Path) -> bool;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn var(&self, k: &str) -> Option<String> {
        std::env::var_os(k)
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
    }

    /// `$HOME`, else the password database (libpq 15 reads only the latter; newer libpq
    /// prefers `$HOME` as here, and the two agree outside of deliberate overrides).
    fn home(&self) -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| passwd_entry().map(|p| p.home))
    }

    fn os_user(&self) -> String {
        passwd_entry()
            .map(|p| p.name)
            .filter(|n| !n.is_empty())
            .or_else(|| self.var("USER"))
            .unwrap_or_default()
    }

    fn path_exists(&self, p: &Path) -> bool {
        p.exists()
    }
}

struct PasswdEntry {
    name: String,
    home: PathBuf,
}

/// The effective user's password-database entry, as libpq's `pg_fe_getauthname` reads it.
#[cfg(unix)]
fn passwd_entry() -> Option<PasswdEntry> {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;

    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids); it is only
        // read after getpwuid_r reports success.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to live, writable memory of the stated size, and the
        // strings written into `buf` outlive their use below.
        let rc = unsafe {
            libc::getpwuid_r(
                libc::geteuid(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < (1 << 20) {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        // SAFETY: on success both fields point at NUL-terminated strings inside `buf`.
        let (name, dir) = unsafe { (CStr::from_ptr(pwd.pw_name), CStr::from_ptr(pwd.pw_dir)) };
        return Some(PasswdEntry {
            name: name.to_string_lossy().into_owned(),
            home: PathBuf::from(OsStr::from_bytes(dir.to_bytes())),
        });
    }
}

#[cfg(not(unix))]
fn passwd_entry() -> Option<PasswdEntry> {
    None
}

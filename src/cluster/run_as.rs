//! Running the server binaries, as the postgres OS user when we are root (`runuser`, and
//! what it needs chowned to it), and the line of their output that says what went wrong.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Cluster, ClusterError, SUPERUSER};

impl Cluster {
    /// Runs a server binary (as the postgres OS user when we are root); the last argument
    /// is the data directory.
    pub(super) fn run(
        &self,
        step: &'static str,
        args: &[&str],
        data: Option<&Path>,
    ) -> Result<(), ClusterError> {
        let program = self.bindir.join(step.split(' ').next().unwrap_or(step));
        self.run_program(step, &program, args, data)
    }

    pub(super) fn run_program(
        &self,
        step: &'static str,
        program: &Path,
        args: &[&str],
        data: Option<&Path>,
    ) -> Result<(), ClusterError> {
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", SUPERUSER, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        if let Some(d) = data {
            cmd.arg(d);
        }
        // pg_ctl's postmaster would otherwise inherit our stdout and keep a test runner's pipe open.
        let out = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| ClusterError::Step {
                step,
                detail: format!("{}: {e}", program.display()),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let text = if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            };
            Err(ClusterError::Step {
                step,
                detail: error_line(&text).to_string(),
            })
        }
    }
}

/// The last line that says what went wrong (pg_basebackup's last one only says it cleans
/// up), else the last line.
fn error_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| l.contains("error:") || l.contains("FATAL:"))
        .map(str::trim)
        .unwrap_or_else(|| last_line(text))
}

pub(super) fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

pub(super) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub(super) fn chown_to_postgres(path: &Path) -> Result<(), ClusterError> {
    let status = Command::new("chown")
        .args(["-R", SUPERUSER])
        .arg(path)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| ClusterError::NoPostgresUser(e.to_string()))?;
    if status.status.success() {
        Ok(())
    } else {
        Err(ClusterError::NoPostgresUser(
            last_line(&String::from_utf8_lossy(&status.stderr)).to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_skips_blank_lines() {
        assert_eq!(last_line("one\ntwo\n\n"), "two");
    }
}

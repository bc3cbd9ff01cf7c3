//! What resolution produces: the servers to try and every setting with its default applied,
//! plus psql's wording of a target for messages.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::params::REDACTED;

/// Where a local server's socket is looked for, in order. Debian's libpq knows only the first;
/// the second is upstream PostgreSQL's default, used when only it has the socket.
pub const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
pub const DEFAULT_PORT: u16 = 5432;
/// `application_name` when neither it nor `fallback_application_name` is set.
pub const DEFAULT_APPLICATION_NAME: &str = "mvtop";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// libpq's words, compared case-sensitively as libpq does.
    pub fn from_libpq(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl TargetSessionAttrs {
    pub fn from_libpq(s: &str) -> Option<TargetSessionAttrs> {
        Some(match s {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            "primary" => TargetSessionAttrs::Primary,
            "standby" => TargetSessionAttrs::Standby,
            "prefer-standby" => TargetSessionAttrs::PreferStandby,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        }
    }
}

impl fmt::Display for TargetSessionAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a target's server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    /// A host name or IP address. Empty when only `hostaddr` was given for this target.
    Tcp(String),
    /// A socket directory: a host starting with `/`, or with `@` (Linux's abstract namespace,
    /// which libpq also treats as a socket).
    Unix(PathBuf),
}

/// One server to try. When `hostaddr` is set, libpq connects over TCP to that address
/// whatever `host` says; `host` then only names the server (for TLS and the password file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: HostSpec,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
}

/// Everything needed to connect, with every default applied.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// In the order to try them.
    pub targets: Vec<Target>,
    pub user: String,
    pub dbname: String,
    /// Given explicitly, by the service file or by PGPASSWORD; the password file is read
    /// later, per target.
    pub password: Option<String>,
    /// passfile / PGPASSFILE / ~/.pgpass.
    pub passfile: Option<PathBuf>,
    pub application_name: String,
    pub options: Option<String>,
    /// None: wait indefinitely. libpq raises 1 second to 2.
    pub connect_timeout: Option<Duration>,
    pub sslmode: SslMode,
    /// As given ("system" included), or ~/.postgresql/root.crt when that exists.
    pub sslrootcert: Option<String>,
    /// Whether `sslrootcert` is the ~/.postgresql/root.crt default rather than a setting.
    pub sslrootcert_defaulted: bool,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub target_session_attrs: TargetSessionAttrs,
    /// The service whose settings were used, for messages.
    pub service: Option<String>,
    /// One line each: settings libpq would honour that mvtop ignores.
    pub warnings: Vec<String>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("targets", &self.targets)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("passfile", &self.passfile)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("sslrootcert_defaulted", &self.sslrootcert_defaulted)
            .field("sslcert", &self.sslcert)
            .field("sslkey", &self.sslkey)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("service", &self.service)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// psql's name for a target in messages, to be used as `connection to {} failed: ...`:
/// `server on socket "/var/run/postgresql/.s.PGSQL.5432"` or
/// `server at "db.example.com", port 5432` (the address itself when `hostaddr` is set).
pub fn describe_target(target: &Target) -> String {
    match (&target.host, target.hostaddr) {
        (_, Some(addr)) => format!("server at \"{addr}\", port {}", target.port),
        (HostSpec::Unix(dir), None) => format!(
            "server on socket \"{}/.s.PGSQL.{}\"",
            dir.display(),
            target.port
        ),
        (HostSpec::Tcp(name), None) => format!("server at \"{name}\", port {}", target.port),
    }
}

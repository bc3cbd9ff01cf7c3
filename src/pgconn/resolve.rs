//! From the parameters the user gave to the servers to try, with libpq's precedence:
//! explicit parameters, then the service file, then PG* environment variables, then defaults
//! (fe-connect.c `conninfo_add_defaults` and `pqConnectOptions2`).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::conninfo::is_keyword;
use super::params::{ConfigError, Params, REDACTED};
use super::service::{lookup_service, service_files};

/// Where a local server's socket is looked for, in order. Debian's libpq knows only the first;
/// the second is upstream PostgreSQL's default, used when only it has the socket.
pub const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
pub const DEFAULT_PORT: u16 = 5432;
/// `application_name` when neither it nor `fallback_application_name` is set.
pub const DEFAULT_APPLICATION_NAME: &str = "mvtop";

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
pub fn describe_target(_resolved: &Resolved, target: &Target) -> String {
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

/// The environment variable libpq falls back to for a keyword (`service` is handled apart,
/// as libpq reads PGSERVICE before the service file).
fn env_var_for(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "user" => "PGUSER",
        "password" => "PGPASSWORD",
        "passfile" => "PGPASSFILE",
        "channel_binding" => "PGCHANNELBINDING",
        "connect_timeout" => "PGCONNECT_TIMEOUT",
        "dbname" => "PGDATABASE",
        "host" => "PGHOST",
        "hostaddr" => "PGHOSTADDR",
        "port" => "PGPORT",
        "client_encoding" => "PGCLIENTENCODING",
        "options" => "PGOPTIONS",
        "application_name" => "PGAPPNAME",
        "sslmode" => "PGSSLMODE",
        "sslcompression" => "PGSSLCOMPRESSION",
        "sslcert" => "PGSSLCERT",
        "sslkey" => "PGSSLKEY",
        "sslrootcert" => "PGSSLROOTCERT",
        "sslcrl" => "PGSSLCRL",
        "sslcrldir" => "PGSSLCRLDIR",
        "sslsni" => "PGSSLSNI",
        "requirepeer" => "PGREQUIREPEER",
        "ssl_min_protocol_version" => "PGSSLMINPROTOCOLVERSION",
        "ssl_max_protocol_version" => "PGSSLMAXPROTOCOLVERSION",
        "gssencmode" => "PGGSSENCMODE",
        "krbsrvname" => "PGKRBSRVNAME",
        "gsslib" => "PGGSSLIB",
        "target_session_attrs" => "PGTARGETSESSIONATTRS",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Explicit or from the service file.
    Given,
    Env(&'static str),
}

/// The three sources of settings, highest precedence first.
struct Layers<'a> {
    explicit: &'a Params,
    service: Params,
    env: &'a dyn Env,
}

impl Layers<'_> {
    fn lookup(&self, keyword: &str) -> Option<(String, Origin)> {
        if let Some(v) = self
            .explicit
            .get(keyword)
            .or_else(|| self.service.get(keyword))
        {
            return Some((v.to_string(), Origin::Given));
        }
        let var = env_var_for(keyword)?;
        self.env.var(var).map(|v| (v, Origin::Env(var)))
    }

    /// The setting, even if empty (an empty value still shadows lower layers).
    fn value(&self, keyword: &str) -> Option<String> {
        self.lookup(keyword).map(|(v, _)| v)
    }

    /// The setting if it is non-empty: libpq uses the default for an empty one.
    fn non_empty(&self, keyword: &str) -> Option<String> {
        self.value(keyword).filter(|v| !v.is_empty())
    }
}

/// Resolves `explicit` (the command line, already merged by the caller) against the service
/// file, the environment and the defaults, and checks every value as libpq does.
pub fn resolve(explicit: &Params, env: &dyn Env) -> Result<Resolved, ConfigError> {
    // As PQconnectdbParams: a keyword libpq does not know is refused, not ignored.
    if let Some((keyword, _)) = explicit.iter().find(|(k, _)| !is_keyword(k)) {
        return Err(ConfigError::InvalidOption {
            keyword: keyword.to_string(),
        });
    }
    let service = explicit
        .get("service")
        .map(str::to_string)
        .or_else(|| env.var("PGSERVICE"));
    let service_params = match &service {
        Some(name) => lookup_service(name, &service_files(env))?,
        None => Params::new(),
    };
    let layers = Layers {
        explicit,
        service: service_params,
        env,
    };
    // The checks run in libpq's order, so the first error reported is the same.
    let slots = target_slots(&layers)?;
    let user = layers.non_empty("user").unwrap_or_else(|| env.os_user());
    if user.is_empty() {
        return Err(ConfigError::UnknownLocalUser);
    }
    let dbname = layers.non_empty("dbname").unwrap_or_else(|| user.clone());
    check_choice(
        &layers,
        "channel_binding",
        &["disable", "prefer", "require"],
    )?;
    let ssl = ssl_settings(&layers)?;
    check_ssl_protocol_versions(&layers)?;
    check_gssencmode(&layers)?;
    let target_session_attrs = target_session_attrs(&layers)?;
    let connect_timeout = connect_timeout(&layers)?;
    let targets = slots
        .into_iter()
        .map(|slot| slot.into_target(env))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Resolved {
        targets,
        user,
        dbname,
        password: layers.non_empty("password"),
        passfile: layers
            .non_empty("passfile")
            .map(PathBuf::from)
            .or_else(|| env.home().map(|h| h.join(".pgpass"))),
        application_name: layers
            .non_empty("application_name")
            .or_else(|| layers.non_empty("fallback_application_name"))
            .unwrap_or_else(|| DEFAULT_APPLICATION_NAME.to_string()),
        options: layers.non_empty("options"),
        connect_timeout,
        sslmode: ssl.mode,
        sslrootcert: ssl.rootcert,
        sslrootcert_defaulted: ssl.rootcert_defaulted,
        sslcert: ssl.cert,
        sslkey: ssl.key,
        target_session_attrs,
        service,
        warnings: ignored_setting_warnings(&layers),
    })
}

/// One host slot before parsing: libpq's `pg_conn_host`, with empty meaning "default".
struct Slot {
    host: String,
    hostaddr: String,
    port: String,
}

impl Slot {
    fn into_target(self, env: &dyn Env) -> Result<Target, ConfigError> {
        let port = parse_port(&self.port)?;
        let hostaddr = parse_hostaddr(&self.hostaddr)?;
        let host = if !self.host.is_empty() {
            host_spec(self.host)
        } else if hostaddr.is_some() {
            HostSpec::Tcp(String::new())
        } else {
            HostSpec::Unix(default_socket_dir(env, port))
        };
        Ok(Target {
            host,
            hostaddr,
            port,
        })
    }
}

fn split_list(value: Option<String>) -> Vec<String> {
    match value {
        Some(v) if !v.is_empty() => v.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// libpq's host bookkeeping: hostaddr decides the count if given, else host; host and
/// hostaddr lists must then agree, and one port applies to all hosts.
fn target_slots(layers: &Layers<'_>) -> Result<Vec<Slot>, ConfigError> {
    let hosts = split_list(layers.value("host"));
    let addrs = split_list(layers.value("hostaddr"));
    let count = if addrs.is_empty() {
        hosts.len().max(1)
    } else {
        addrs.len()
    };
    if !hosts.is_empty() && hosts.len() != count {
        return Err(ConfigError::HostCountMismatch {
            hosts: hosts.len(),
            hostaddrs: count,
        });
    }
    let ports = port_list(layers.value("port"), count)?;
    Ok(ports
        .into_iter()
        .enumerate()
        .map(|(i, port)| Slot {
            host: hosts.get(i).cloned().unwrap_or_default(),
            hostaddr: addrs.get(i).cloned().unwrap_or_default(),
            port,
        })
        .collect())
}

fn port_list(value: Option<String>, hosts: usize) -> Result<Vec<String>, ConfigError> {
    let ports = split_list(value);
    match ports.len() {
        0 => Ok(vec![String::new(); hosts]),
        1 => Ok(vec![ports[0].clone(); hosts]),
        n if n == hosts => Ok(ports),
        n => Err(ConfigError::PortCountMismatch { ports: n, hosts }),
    }
}

/// libpq's `is_unixsock_path`.
fn is_unixsock_path(host: &str) -> bool {
    host.starts_with('/') || host.starts_with('@')
}

fn host_spec(host: String) -> HostSpec {
    if is_unixsock_path(&host) {
        HostSpec::Unix(PathBuf::from(host))
    } else {
        HostSpec::Tcp(host)
    }
}

/// The first default directory that has this port's socket, else the first default.
fn default_socket_dir(env: &dyn Env, port: u16) -> PathBuf {
    DEFAULT_SOCKET_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| env.path_exists(&dir.join(format!(".s.PGSQL.{port}"))))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET_DIRS[0]))
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// libpq's `pqParseIntParam`: strtol's syntax (blanks, a sign, decimal digits), trailing
/// blanks allowed, and the value must fit an int.
fn parse_int_param(value: &str, option: &str) -> Result<i32, ConfigError> {
    let invalid = || ConfigError::InvalidInteger {
        value: value.to_string(),
        option: option.to_string(),
    };
    let trimmed = value.trim_matches(is_c_space);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    trimmed.parse::<i32>().map_err(|_| invalid())
}

fn parse_port(value: &str) -> Result<u16, ConfigError> {
    if value.is_empty() {
        return Ok(DEFAULT_PORT);
    }
    let port = parse_int_param(value, "port")?;
    u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| ConfigError::InvalidPort {
            value: value.to_string(),
        })
}

/// hostaddr must be a numeric address; libpq would report getaddrinfo's EAI_NONAME.
fn parse_hostaddr(value: &str) -> Result<Option<IpAddr>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| ConfigError::InvalidHostaddr {
            value: value.to_string(),
        })
}

fn invalid_value(option: &str, value: &str) -> ConfigError {
    ConfigError::InvalidValue {
        option: option.to_string(),
        value: value.to_string(),
    }
}

/// A keyword whose value must be one of `allowed` when set (even to the empty string).
fn check_choice(
    layers: &Layers<'_>,
    keyword: &str,
    allowed: &[&str],
) -> Result<Option<String>, ConfigError> {
    match layers.value(keyword) {
        Some(v) if !allowed.contains(&v.as_str()) => Err(invalid_value(keyword, &v)),
        v => Ok(v),
    }
}

struct SslSettings {
    mode: SslMode,
    rootcert: Option<String>,
    rootcert_defaulted: bool,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// ~/.postgresql/`name`, if it exists.
fn default_ssl_file(env: &dyn Env, name: &str) -> Option<PathBuf> {
    let path = env.home()?.join(".postgresql").join(name);
    env.path_exists(&path).then_some(path)
}

/// The sslmode and whether it is only the compiled-in default.
fn sslmode(layers: &Layers<'_>) -> Result<(SslMode, bool), ConfigError> {
    if let Some(v) = layers.value("sslmode") {
        let mode = SslMode::from_libpq(&v).ok_or_else(|| invalid_value("sslmode", &v))?;
        return Ok((mode, false));
    }
    // Deprecated, but libpq still honours PGREQUIRESSL=1 below PGSSLMODE.
    if layers
        .env
        .var("PGREQUIRESSL")
        .is_some_and(|v| v.starts_with('1'))
    {
        return Ok((SslMode::Require, false));
    }
    Ok((SslMode::Prefer, true))
}

fn ssl_settings(layers: &Layers<'_>) -> Result<SslSettings, ConfigError> {
    let (mut mode, mode_defaulted) = sslmode(layers)?;
    let (rootcert, rootcert_defaulted) = match layers.non_empty("sslrootcert") {
        Some(given) => (Some(given), false),
        None => {
            let found = default_ssl_file(layers.env, "root.crt");
            let defaulted = found.is_some();
            (found.map(|p| p.to_string_lossy().into_owned()), defaulted)
        }
    };
    // sslrootcert=system (libpq 16): the system's CAs are only meaningful with name checks,
    // so it strengthens the default sslmode and refuses a weaker explicit one.
    if !rootcert_defaulted && rootcert.as_deref() == Some("system") {
        if mode_defaulted {
            mode = SslMode::VerifyFull;
        } else if mode != SslMode::VerifyFull {
            return Err(ConfigError::WeakSslmodeWithSystemRoot {
                sslmode: mode.to_string(),
            });
        }
    }
    let file = |keyword: &str, default: &str| {
        layers
            .non_empty(keyword)
            .map(PathBuf::from)
            .or_else(|| default_ssl_file(layers.env, default))
    };
    Ok(SslSettings {
        mode,
        rootcert,
        rootcert_defaulted,
        cert: file("sslcert", "postgresql.crt"),
        key: file("sslkey", "postgresql.key"),
    })
}

const TLS_VERSIONS: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// libpq's `sslVerifyProtocolVersion` and `sslVerifyProtocolRange`.
fn check_ssl_protocol_versions(layers: &Layers<'_>) -> Result<(), ConfigError> {
    let known = |v: &str| v.is_empty() || TLS_VERSIONS.iter().any(|t| t.eq_ignore_ascii_case(v));
    // libpq 15's compiled-in minimum takes part in the range check.
    let min = layers
        .value("ssl_min_protocol_version")
        .unwrap_or_else(|| "TLSv1.2".to_string());
    let max = layers.value("ssl_max_protocol_version").unwrap_or_default();
    for (keyword, v) in [
        ("ssl_min_protocol_version", &min),
        ("ssl_max_protocol_version", &max),
    ] {
        if !known(v) {
            return Err(invalid_value(keyword, v));
        }
    }
    if min.is_empty() || max.is_empty() || min.eq_ignore_ascii_case("TLSv1") {
        return Ok(());
    }
    let (min, max) = (min.to_ascii_lowercase(), max.to_ascii_lowercase());
    if max == "tlsv1" || min > max {
        return Err(ConfigError::InvalidSslProtocolRange);
    }
    Ok(())
}

/// mvtop has no GSSAPI, so it answers as a libpq built without it.
fn check_gssencmode(layers: &Layers<'_>) -> Result<(), ConfigError> {
    match check_choice(layers, "gssencmode", &["disable", "prefer", "require"])? {
        Some(v) if v == "require" => Err(ConfigError::GssencUnsupported { value: v }),
        _ => Ok(()),
    }
}

fn target_session_attrs(layers: &Layers<'_>) -> Result<TargetSessionAttrs, ConfigError> {
    match layers.value("target_session_attrs") {
        None => Ok(TargetSessionAttrs::Any),
        Some(v) => TargetSessionAttrs::from_libpq(&v)
            .ok_or_else(|| invalid_value("target_session_attrs", &v)),
    }
}

fn connect_timeout(layers: &Layers<'_>) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = layers.value("connect_timeout") else {
        return Ok(None);
    };
    let secs = parse_int_param(&v, "connect_timeout")?;
    // libpq: 0 or negative waits forever; 1 becomes 2 so rounding cannot make it instant.
    Ok((secs > 0).then(|| Duration::from_secs(u64::from(secs.max(2).unsigned_abs()))))
}

/// Settings libpq honours that mvtop's connections do not.
const IGNORED_OPTIONS: &[&str] = &[
    "channel_binding",
    "client_encoding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslcompression",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "replication",
];

/// Whether ignoring this value changes nothing: it asks for what mvtop does anyway.
fn ignoring_is_harmless(keyword: &str, value: &str) -> bool {
    match keyword {
        // Without GSSAPI, "prefer" means "disable" in libpq too; "require" was refused.
        "gssencmode" | "krbsrvname" | "gsslib" => true,
        // Compression is compiled out of every TLS library libpq 15 builds against.
        "sslcompression" => true,
        "channel_binding" => value == "prefer",
        "sslsni" => value.starts_with('1'),
        "keepalives" => value.trim().parse::<i64>().is_ok_and(|n| n != 0),
        // TLS 1.2 is the floor and 1.3 the ceiling anyway.
        "ssl_min_protocol_version" => !value.eq_ignore_ascii_case("TLSv1.3"),
        "ssl_max_protocol_version" => value.is_empty() || value.eq_ignore_ascii_case("TLSv1.3"),
        // Sessions always use UTF8; the server ignores case and punctuation in the name.
        "client_encoding" => {
            let name: String = value
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            name == "utf8" || name == "unicode"
        }
        _ => false,
    }
}

/// One line per ignored setting; the value is never shown (sslpassword is a secret).
fn ignored_setting_warnings(layers: &Layers<'_>) -> Vec<String> {
    IGNORED_OPTIONS
        .iter()
        .filter_map(|&keyword| {
            let (value, origin) = layers.lookup(keyword)?;
            if ignoring_is_harmless(keyword, &value) {
                return None;
            }
            Some(match origin {
                Origin::Given => {
                    format!(
                        "connection option \"{keyword}\" is not supported by mvtop and is ignored"
                    )
                }
                Origin::Env(var) => {
                    format!("environment variable {var} is not supported by mvtop and is ignored")
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::fs;
    use tempfile::TempDir;

    /// A fake environment with a real temporary home and system configuration directory.
    struct FakeEnv {
        vars: HashMap<String, String>,
        home: Option<PathBuf>,
        user: String,
        sockets: HashSet<PathBuf>,
        home_dir: TempDir,
        sysconf_dir: TempDir,
    }

    impl FakeEnv {
        fn new() -> FakeEnv {
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

        fn with_var(mut self, k: &str, v: &str) -> FakeEnv {
            self.vars.insert(k.to_string(), v.to_string());
            self
        }

        fn with_socket(mut self, path: &str) -> FakeEnv {
            self.sockets.insert(PathBuf::from(path));
            self
        }

        fn home_path(&self) -> &Path {
            self.home_dir.path()
        }

        fn write_home(&self, rel: &str, text: &str) -> PathBuf {
            let path = self.home_path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
            path
        }

        fn write_system_services(&self, text: &str) {
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

    fn params(list: &[(&str, &str)]) -> Params {
        list.iter().copied().collect()
    }

    fn ok(list: &[(&str, &str)], env: &FakeEnv) -> Resolved {
        resolve(&params(list), env).unwrap_or_else(|e| panic!("{list:?}: {e}"))
    }

    fn err(list: &[(&str, &str)], env: &FakeEnv) -> String {
        resolve(&params(list), env).unwrap_err().to_string()
    }

    fn tcp(host: &str, port: u16) -> Target {
        Target {
            host: HostSpec::Tcp(host.into()),
            hostaddr: None,
            port,
        }
    }

    fn unix(dir: &str, port: u16) -> Target {
        Target {
            host: HostSpec::Unix(dir.into()),
            hostaddr: None,
            port,
        }
    }

    // --- defaults ---

    #[test]
    fn defaults() {
        let env = FakeEnv::new();
        let r = ok(&[], &env);
        assert_eq!(r.targets, vec![unix("/var/run/postgresql", 5432)]);
        assert_eq!(r.user, "alice");
        assert_eq!(r.dbname, "alice");
        assert_eq!(r.password, None);
        assert_eq!(r.passfile, Some(env.home_path().join(".pgpass")));
        assert_eq!(r.application_name, "mvtop");
        assert_eq!(r.options, None);
        assert_eq!(r.connect_timeout, None);
        assert_eq!(r.sslmode, SslMode::Prefer);
        assert_eq!(r.sslrootcert, None);
        assert!(!r.sslrootcert_defaulted);
        assert_eq!(r.sslcert, None);
        assert_eq!(r.sslkey, None);
        assert_eq!(r.target_session_attrs, TargetSessionAttrs::Any);
        assert_eq!(r.service, None);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn default_socket_directory_follows_the_socket() {
        let env = FakeEnv::new().with_socket("/tmp/.s.PGSQL.5432");
        assert_eq!(ok(&[], &env).targets, vec![unix("/tmp", 5432)]);

        let env = FakeEnv::new()
            .with_socket("/tmp/.s.PGSQL.5432")
            .with_socket("/var/run/postgresql/.s.PGSQL.5432");
        assert_eq!(
            ok(&[], &env).targets,
            vec![unix("/var/run/postgresql", 5432)]
        );

        // The socket file is named after the port.
        let env = FakeEnv::new().with_socket("/tmp/.s.PGSQL.5433");
        assert_eq!(
            ok(&[], &env).targets,
            vec![unix("/var/run/postgresql", 5432)]
        );
        assert_eq!(
            ok(&[("port", "5433")], &env).targets,
            vec![unix("/tmp", 5433)]
        );
    }

    #[test]
    fn no_home_means_no_default_passfile() {
        let mut env = FakeEnv::new();
        env.home = None;
        assert_eq!(ok(&[], &env).passfile, None);
    }

    #[test]
    fn unknown_explicit_keyword_is_refused() {
        let env = FakeEnv::new();
        assert_eq!(
            err(&[("hots", "x")], &env),
            "invalid connection option \"hots\""
        );
    }

    #[test]
    fn unknown_os_user_is_an_error_only_when_needed() {
        let mut env = FakeEnv::new();
        env.user = String::new();
        assert_eq!(err(&[], &env), "could not look up the local user name");
        assert_eq!(ok(&[("user", "bob")], &env).user, "bob");
    }

    // --- precedence ---

    #[test]
    fn environment_variables() {
        let env = FakeEnv::new()
            .with_var("PGHOST", "envhost")
            .with_var("PGPORT", "6000")
            .with_var("PGUSER", "envuser")
            .with_var("PGDATABASE", "envdb")
            .with_var("PGPASSWORD", "envpw")
            .with_var("PGPASSFILE", "/secrets/pgpass")
            .with_var("PGAPPNAME", "envapp")
            .with_var("PGOPTIONS", "-c work_mem=64MB")
            .with_var("PGCONNECT_TIMEOUT", "7")
            .with_var("PGSSLMODE", "verify-full")
            .with_var("PGSSLROOTCERT", "/ca.crt")
            .with_var("PGSSLCERT", "/client.crt")
            .with_var("PGSSLKEY", "/client.key")
            .with_var("PGTARGETSESSIONATTRS", "read-write");
        let r = ok(&[], &env);
        assert_eq!(r.targets, vec![tcp("envhost", 6000)]);
        assert_eq!(r.user, "envuser");
        assert_eq!(r.dbname, "envdb");
        assert_eq!(r.password.as_deref(), Some("envpw"));
        assert_eq!(r.passfile, Some(PathBuf::from("/secrets/pgpass")));
        assert_eq!(r.application_name, "envapp");
        assert_eq!(r.options.as_deref(), Some("-c work_mem=64MB"));
        assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(r.sslmode, SslMode::VerifyFull);
        assert_eq!(r.sslrootcert.as_deref(), Some("/ca.crt"));
        assert!(!r.sslrootcert_defaulted);
        assert_eq!(r.sslcert, Some(PathBuf::from("/client.crt")));
        assert_eq!(r.sslkey, Some(PathBuf::from("/client.key")));
        assert_eq!(r.target_session_attrs, TargetSessionAttrs::ReadWrite);
    }

    #[test]
    fn explicit_beats_environment() {
        let env = FakeEnv::new()
            .with_var("PGHOST", "envhost")
            .with_var("PGPORT", "6000")
            .with_var("PGUSER", "envuser")
            .with_var("PGDATABASE", "envdb")
            .with_var("PGSSLMODE", "require");
        let r = ok(
            &[
                ("host", "cli"),
                ("port", "7000"),
                ("user", "bob"),
                ("dbname", "app"),
                ("sslmode", "disable"),
            ],
            &env,
        );
        assert_eq!(r.targets, vec![tcp("cli", 7000)]);
        assert_eq!((r.user.as_str(), r.dbname.as_str()), ("bob", "app"));
        assert_eq!(r.sslmode, SslMode::Disable);
    }

    #[test]
    fn dbname_defaults_to_the_resolved_user() {
        let env = FakeEnv::new().with_var("PGUSER", "envuser");
        assert_eq!(ok(&[], &env).dbname, "envuser");
        assert_eq!(ok(&[("user", "bob")], &env).dbname, "bob");
    }

    #[test]
    fn empty_explicit_value_shadows_environment_then_means_default() {
        let env = FakeEnv::new()
            .with_var("PGHOST", "envhost")
            .with_var("PGUSER", "envuser")
            .with_var("PGDATABASE", "envdb")
            .with_var("PGPASSWORD", "envpw");
        let r = ok(
            &[("host", ""), ("user", ""), ("dbname", ""), ("password", "")],
            &env,
        );
        assert_eq!(r.targets, vec![unix("/var/run/postgresql", 5432)]);
        assert_eq!(r.user, "alice");
        assert_eq!(r.dbname, "alice");
        assert_eq!(r.password, None);
    }

    #[test]
    fn application_name_precedence() {
        let env = FakeEnv::new();
        assert_eq!(
            ok(&[("fallback_application_name", "fb")], &env).application_name,
            "fb"
        );
        let env = FakeEnv::new().with_var("PGAPPNAME", "envapp");
        assert_eq!(
            ok(&[("fallback_application_name", "fb")], &env).application_name,
            "envapp"
        );
        assert_eq!(
            ok(
                &[
                    ("application_name", "x"),
                    ("fallback_application_name", "fb")
                ],
                &env
            )
            .application_name,
            "x"
        );
    }

    // --- service files ---

    #[test]
    fn service_beats_environment_and_explicit_beats_service() {
        let env = FakeEnv::new()
            .with_var("PGPORT", "1111")
            .with_var("PGHOST", "envhost");
        env.write_system_services("[svc]\nport=2222\nhost=svchost\ndbname=svcdb\n");
        let r = ok(&[("service", "svc")], &env);
        assert_eq!(r.targets, vec![tcp("svchost", 2222)]);
        assert_eq!(r.dbname, "svcdb");
        assert_eq!(r.service.as_deref(), Some("svc"));
        let r = ok(&[("service", "svc"), ("port", "3333")], &env);
        assert_eq!(r.targets, vec![tcp("svchost", 3333)]);
    }

    #[test]
    fn environment_fills_what_the_service_leaves_out() {
        let env = FakeEnv::new().with_var("PGUSER", "envuser");
        env.write_system_services("[svc]\nhost=svchost\n");
        let r = ok(&[("service", "svc")], &env);
        assert_eq!(r.user, "envuser");
        assert_eq!(r.targets, vec![tcp("svchost", 5432)]);
    }

    #[test]
    fn pgservice_names_the_service() {
        let env = FakeEnv::new().with_var("PGSERVICE", "svc");
        env.write_system_services("[svc]\nhost=a\n[other]\nhost=b\n");
        assert_eq!(ok(&[], &env).targets, vec![tcp("a", 5432)]);
        assert_eq!(
            ok(&[("service", "other")], &env).targets,
            vec![tcp("b", 5432)]
        );
    }

    #[test]
    fn unknown_service() {
        let env = FakeEnv::new();
        env.write_system_services("[svc]\nhost=a\n");
        assert_eq!(
            err(&[("service", "nope")], &env),
            "definition of service \"nope\" not found"
        );
        // Nothing at all to look in is the same error.
        let env = FakeEnv::new();
        assert_eq!(
            err(&[("service", "nope")], &env),
            "definition of service \"nope\" not found"
        );
    }

    #[test]
    fn user_service_file_wins_over_system() {
        let env = FakeEnv::new();
        env.write_home(".pg_service.conf", "[svc]\nhost=userhost\n");
        env.write_system_services("[svc]\nhost=syshost\nport=9999\n[sysonly]\nhost=s\n");
        let r = ok(&[("service", "svc")], &env);
        // The whole section comes from the user file: no port from the system file.
        assert_eq!(r.targets, vec![tcp("userhost", 5432)]);
        assert_eq!(
            ok(&[("service", "sysonly")], &env).targets,
            vec![tcp("s", 5432)]
        );
    }

    #[test]
    fn pgservicefile_replaces_the_user_file() {
        let env = FakeEnv::new();
        env.write_home(".pg_service.conf", "[svc]\nhost=home\n");
        let named = env.write_home("elsewhere.conf", "[svc]\nhost=named\n");
        let env = env.with_var("PGSERVICEFILE", &named.display().to_string());
        assert_eq!(
            ok(&[("service", "svc")], &env).targets,
            vec![tcp("named", 5432)]
        );
    }

    #[test]
    fn missing_pgservicefile_is_an_error_when_a_service_is_wanted() {
        let env = FakeEnv::new().with_var("PGSERVICEFILE", "/nonexistent/services.conf");
        env.write_system_services("[svc]\nhost=a\n");
        assert_eq!(
            err(&[("service", "svc")], &env),
            "service file \"/nonexistent/services.conf\" not found"
        );
        // Without a service the file is never looked at.
        assert!(resolve(&Params::new(), &env).is_ok());
    }

    #[test]
    fn service_file_syntax_error() {
        let env = FakeEnv::new();
        env.write_system_services("[svc]\nhost=a\nbogus=1\n");
        let path = env.sysconf_dir.path().join("pg_service.conf");
        assert_eq!(
            err(&[("service", "svc")], &env),
            format!(
                "syntax error in service file \"{}\", line 3",
                path.display()
            )
        );
    }

    #[test]
    fn service_password_is_used() {
        let env = FakeEnv::new().with_var("PGPASSWORD", "envpw");
        env.write_system_services("[svc]\npassword=svcpw\n");
        assert_eq!(
            ok(&[("service", "svc")], &env).password.as_deref(),
            Some("svcpw")
        );
    }

    // --- hosts and ports ---

    #[test]
    fn multiple_hosts_and_ports() {
        let env = FakeEnv::new();
        let r = ok(&[("host", "h1,h2"), ("port", "1,2")], &env);
        assert_eq!(r.targets, vec![tcp("h1", 1), tcp("h2", 2)]);
        // One port applies to every host.
        let r = ok(&[("host", "h1,h2,h3"), ("port", "7")], &env);
        assert_eq!(r.targets, vec![tcp("h1", 7), tcp("h2", 7), tcp("h3", 7)]);
    }

    #[test]
    fn empty_list_entries_use_defaults() {
        let env = FakeEnv::new();
        let r = ok(&[("host", "h1,,/tmp"), ("port", "1,,3")], &env);
        assert_eq!(
            r.targets,
            vec![
                tcp("h1", 1),
                unix("/var/run/postgresql", 5432),
                unix("/tmp", 3)
            ]
        );
        // From a URI: postgresql://h1:1,h2/db
        let r = ok(&[("host", "h1,h2"), ("port", "1,")], &env);
        assert_eq!(r.targets, vec![tcp("h1", 1), tcp("h2", 5432)]);
    }

    #[test]
    fn port_count_must_match_host_count() {
        let env = FakeEnv::new();
        assert_eq!(
            err(&[("host", "h1,h2"), ("port", "1,2,3")], &env),
            "could not match 3 port numbers to 2 hosts"
        );
        assert_eq!(
            err(&[("port", "1,2")], &env),
            "could not match 2 port numbers to 1 hosts"
        );
    }

    #[test]
    fn socket_directories_and_abstract_sockets() {
        let env = FakeEnv::new();
        assert_eq!(
            ok(&[("host", "/srv/pg")], &env).targets,
            vec![unix("/srv/pg", 5432)]
        );
        assert_eq!(
            ok(&[("host", "@pgsock")], &env).targets,
            vec![unix("@pgsock", 5432)]
        );
    }

    #[test]
    fn hostaddr_without_host_is_tcp_to_the_address() {
        let env = FakeEnv::new();
        let r = ok(&[("hostaddr", "192.0.2.7")], &env);
        assert_eq!(
            r.targets,
            vec![Target {
                host: HostSpec::Tcp(String::new()),
                hostaddr: Some("192.0.2.7".parse().unwrap()),
                port: 5432
            }]
        );
        let env = FakeEnv::new().with_var("PGHOSTADDR", "::1");
        assert_eq!(
            ok(&[], &env).targets[0].hostaddr,
            Some("::1".parse().unwrap())
        );
    }

    #[test]
    fn hostaddr_with_host_keeps_both() {
        let env = FakeEnv::new();
        let r = ok(
            &[
                ("host", "db.example.com,b"),
                ("hostaddr", "192.0.2.7,192.0.2.8"),
            ],
            &env,
        );
        assert_eq!(r.targets[0].host, HostSpec::Tcp("db.example.com".into()));
        assert_eq!(r.targets[1].hostaddr, Some("192.0.2.8".parse().unwrap()));
        // Mixed: the empty hostaddr entry leaves that host to name resolution.
        let r = ok(&[("host", "a,b"), ("hostaddr", ",192.0.2.8")], &env);
        assert_eq!(r.targets[0], tcp("a", 5432));
    }

    #[test]
    fn host_and_hostaddr_counts_must_match() {
        let env = FakeEnv::new();
        assert_eq!(
            err(
                &[("host", "a,b,c"), ("hostaddr", "192.0.2.1,192.0.2.2")],
                &env
            ),
            "could not match 3 host names to 2 hostaddr values"
        );
        assert_eq!(
            err(
                &[
                    ("host", "a"),
                    ("hostaddr", "192.0.2.1,192.0.2.2"),
                    ("port", "1,2,3")
                ],
                &env
            ),
            "could not match 1 host names to 2 hostaddr values"
        );
    }

    #[test]
    fn hostaddr_must_be_numeric() {
        let env = FakeEnv::new();
        assert_eq!(
            err(&[("hostaddr", "db.example.com")], &env),
            "could not parse network address \"db.example.com\": Name or service not known"
        );
    }

    // --- value checks ---

    #[test]
    fn port_values() {
        let env = FakeEnv::new();
        assert_eq!(ok(&[("port", " 5433 ")], &env).targets[0].port, 5433);
        assert_eq!(ok(&[("port", "+5433")], &env).targets[0].port, 5433);
        assert_eq!(ok(&[("port", "65535")], &env).targets[0].port, 65535);
        assert_eq!(
            err(&[("port", "abc")], &env),
            "invalid integer value \"abc\" for connection option \"port\""
        );
        assert_eq!(
            err(&[("port", "54 32")], &env),
            "invalid integer value \"54 32\" for connection option \"port\""
        );
        assert_eq!(err(&[("port", "0")], &env), "invalid port number: \"0\"");
        assert_eq!(
            err(&[("port", "70000")], &env),
            "invalid port number: \"70000\""
        );
        assert_eq!(err(&[("port", "-1")], &env), "invalid port number: \"-1\"");
        let env = FakeEnv::new().with_var("PGPORT", "x");
        assert_eq!(
            err(&[], &env),
            "invalid integer value \"x\" for connection option \"port\""
        );
    }

    #[test]
    fn connect_timeout_values() {
        let env = FakeEnv::new();
        let timeout = |v: &str| ok(&[("connect_timeout", v)], &env).connect_timeout;
        assert_eq!(timeout("10"), Some(Duration::from_secs(10)));
        assert_eq!(timeout("1"), Some(Duration::from_secs(2)));
        assert_eq!(timeout("2"), Some(Duration::from_secs(2)));
        assert_eq!(timeout("0"), None);
        assert_eq!(timeout("-5"), None);
        assert_eq!(
            err(&[("connect_timeout", "x")], &env),
            "invalid integer value \"x\" for connection option \"connect_timeout\""
        );
        assert_eq!(
            err(&[("connect_timeout", "")], &env),
            "invalid integer value \"\" for connection option \"connect_timeout\""
        );
        assert_eq!(
            err(&[("connect_timeout", "99999999999")], &env),
            "invalid integer value \"99999999999\" for connection option \"connect_timeout\""
        );
    }

    #[test]
    fn sslmode_values() {
        let env = FakeEnv::new();
        for (word, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(ok(&[("sslmode", word)], &env).sslmode, mode);
            assert_eq!(mode.to_string(), word);
        }
        assert_eq!(
            err(&[("sslmode", "x")], &env),
            "invalid sslmode value: \"x\""
        );
        assert_eq!(
            err(&[("sslmode", "Require")], &env),
            "invalid sslmode value: \"Require\""
        );
        assert_eq!(err(&[("sslmode", "")], &env), "invalid sslmode value: \"\"");
        let env = FakeEnv::new().with_var("PGSSLMODE", "bogus");
        assert_eq!(err(&[], &env), "invalid sslmode value: \"bogus\"");
    }

    #[test]
    fn pgrequiressl_is_honoured_below_pgsslmode() {
        let env = FakeEnv::new().with_var("PGREQUIRESSL", "1");
        assert_eq!(ok(&[], &env).sslmode, SslMode::Require);
        assert_eq!(
            ok(&[("sslmode", "disable")], &env).sslmode,
            SslMode::Disable
        );
        let env = env.with_var("PGSSLMODE", "allow");
        assert_eq!(ok(&[], &env).sslmode, SslMode::Allow);
        let env = FakeEnv::new().with_var("PGREQUIRESSL", "0");
        assert_eq!(ok(&[], &env).sslmode, SslMode::Prefer);
    }

    #[test]
    fn target_session_attrs_values() {
        let env = FakeEnv::new();
        for (word, attrs) in [
            ("any", TargetSessionAttrs::Any),
            ("read-write", TargetSessionAttrs::ReadWrite),
            ("read-only", TargetSessionAttrs::ReadOnly),
            ("primary", TargetSessionAttrs::Primary),
            ("standby", TargetSessionAttrs::Standby),
            ("prefer-standby", TargetSessionAttrs::PreferStandby),
        ] {
            assert_eq!(
                ok(&[("target_session_attrs", word)], &env).target_session_attrs,
                attrs
            );
            assert_eq!(attrs.to_string(), word);
        }
        assert_eq!(
            err(&[("target_session_attrs", "x")], &env),
            "invalid target_session_attrs value: \"x\""
        );
    }

    #[test]
    fn other_libpq_value_checks() {
        let env = FakeEnv::new();
        assert_eq!(
            err(&[("channel_binding", "maybe")], &env),
            "invalid channel_binding value: \"maybe\""
        );
        assert_eq!(
            err(&[("gssencmode", "x")], &env),
            "invalid gssencmode value: \"x\""
        );
        assert_eq!(
            err(&[("gssencmode", "require")], &env),
            "gssencmode value \"require\" invalid when GSSAPI support is not compiled in"
        );
        assert_eq!(
            err(&[("ssl_min_protocol_version", "SSLv3")], &env),
            "invalid ssl_min_protocol_version value: \"SSLv3\""
        );
        assert_eq!(
            err(
                &[
                    ("ssl_min_protocol_version", "TLSv1.3"),
                    ("ssl_max_protocol_version", "tlsv1.2")
                ],
                &env
            ),
            "invalid SSL protocol version range"
        );
        // The compiled-in minimum, TLSv1.2, is above this maximum.
        assert_eq!(
            err(&[("ssl_max_protocol_version", "TLSv1.1")], &env),
            "invalid SSL protocol version range"
        );
        assert!(
            resolve(
                &params(&[
                    ("ssl_min_protocol_version", "TLSv1"),
                    ("ssl_max_protocol_version", "TLSv1.1")
                ]),
                &env
            )
            .is_ok()
        );
    }

    // --- TLS files ---

    #[test]
    fn ssl_files_default_only_when_they_exist() {
        let env = FakeEnv::new();
        let root = env.write_home(".postgresql/root.crt", "x");
        let cert = env.write_home(".postgresql/postgresql.crt", "x");
        let r = ok(&[], &env);
        assert_eq!(r.sslrootcert, Some(root.display().to_string()));
        assert!(r.sslrootcert_defaulted);
        assert_eq!(r.sslcert, Some(cert));
        assert_eq!(r.sslkey, None);
        let key = env.write_home(".postgresql/postgresql.key", "x");
        assert_eq!(ok(&[], &env).sslkey, Some(key));
        let r = ok(&[("sslrootcert", "/etc/ca.pem")], &env);
        assert_eq!(r.sslrootcert.as_deref(), Some("/etc/ca.pem"));
        assert!(!r.sslrootcert_defaulted);
    }

    #[test]
    fn sslrootcert_system() {
        let env = FakeEnv::new();
        let r = ok(&[("sslrootcert", "system")], &env);
        assert_eq!(r.sslrootcert.as_deref(), Some("system"));
        assert_eq!(r.sslmode, SslMode::VerifyFull);
        assert_eq!(
            ok(
                &[("sslrootcert", "system"), ("sslmode", "verify-full")],
                &env
            )
            .sslmode,
            SslMode::VerifyFull
        );
        assert_eq!(
            err(&[("sslrootcert", "system"), ("sslmode", "require")], &env),
            "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
    }

    // --- warnings ---

    #[test]
    fn unsupported_environment_variables_warn() {
        let env = FakeEnv::new()
            .with_var("PGSSLCRL", "/crl.pem")
            .with_var("PGREQUIREPEER", "postgres");
        let r = ok(&[], &env);
        assert_eq!(
            r.warnings,
            vec![
                "environment variable PGSSLCRL is not supported by mvtop and is ignored",
                "environment variable PGREQUIREPEER is not supported by mvtop and is ignored",
            ]
        );
    }

    #[test]
    fn unsupported_explicit_options_warn_without_their_values() {
        let env = FakeEnv::new();
        let r = ok(
            &[("keepalives_idle", "30"), ("sslpassword", "hunter2")],
            &env,
        );
        assert_eq!(
            r.warnings,
            vec![
                "connection option \"keepalives_idle\" is not supported by mvtop and is ignored",
                "connection option \"sslpassword\" is not supported by mvtop and is ignored",
            ]
        );
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn harmless_settings_do_not_warn() {
        let env = FakeEnv::new()
            .with_var("PGGSSENCMODE", "disable")
            .with_var("PGCLIENTENCODING", "UTF-8")
            .with_var("PGSSLSNI", "1")
            .with_var("PGCHANNELBINDING", "prefer");
        let r = ok(
            &[("keepalives", "1"), ("ssl_min_protocol_version", "TLSv1.2")],
            &env,
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let r = ok(
            &[
                ("channel_binding", "require"),
                ("client_encoding", "LATIN1"),
            ],
            &env,
        );
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    // --- secrets and messages ---

    #[test]
    fn password_never_in_debug() {
        let env = FakeEnv::new().with_var("PGPASSWORD", "hunter2");
        let r = ok(&[], &env);
        assert_eq!(r.password.as_deref(), Some("hunter2"));
        let shown = format!("{r:?} {r:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
    }

    #[test]
    fn describes_targets_like_psql() {
        let env = FakeEnv::new();
        let r = ok(&[], &env);
        assert_eq!(
            describe_target(&r, &unix("/var/run/postgresql", 5432)),
            "server on socket \"/var/run/postgresql/.s.PGSQL.5432\""
        );
        assert_eq!(
            describe_target(&r, &tcp("db.example.com", 5433)),
            "server at \"db.example.com\", port 5433"
        );
        let with_addr = Target {
            host: HostSpec::Tcp("db.example.com".into()),
            hostaddr: Some("1.2.3.4".parse().unwrap()),
            port: 5432,
        };
        assert_eq!(
            describe_target(&r, &with_addr),
            "server at \"1.2.3.4\", port 5432"
        );
    }

    #[test]
    fn system_env_basics() {
        let env = SystemEnv;
        assert_eq!(env.var("MVTOP_SURELY_UNSET_VARIABLE_42"), None);
        assert!(!env.os_user().is_empty());
        assert!(env.path_exists(Path::new("/")));
        assert!(!env.path_exists(Path::new("/surely/not/here/42")));
    }
}

//! From the parameters the user gave to the servers to try, with libpq's precedence:
//! explicit parameters, then the service file, then PG* environment variables, then defaults
//! (fe-connect.c `conninfo_add_defaults` and `pqConnectOptions2`).

use std::path::PathBuf;

use super::checks::{
    check_choice, check_gssencmode, check_ssl_protocol_versions, connect_timeout, parse_hostaddr,
    parse_port, ssl_settings, target_session_attrs,
};
use super::conninfo::is_keyword;
use super::env::Env;
use super::ignored::ignored_setting_warnings;
use super::layers::Layers;
use super::params::{ConfigError, Params};
use super::resolved::{DEFAULT_APPLICATION_NAME, DEFAULT_SOCKET_DIRS, HostSpec, Resolved, Target};
use super::service::{lookup_service, service_files};

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

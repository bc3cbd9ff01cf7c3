//! Opening sessions from resolved libpq settings: one target after another, TLS per
//! sslmode, pgpass per target, a password prompt when the server asks for one, and the
//! sslmode, pgpass per target, and a password prompt when the server asks for one.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::failure::{describe_failure, is_password_missing, is_tls_error, one_line};
use super::pgpass;
use super::resolved::{
    DEFAULT_SOCKET_DIRS, HostSpec, Resolved, SslMode, Target, TargetSessionAttrs, describe_target,
};
use super::session::{
    ConnectError, Endpoint, PasswordPrompt, Session, SessionSettings, over_socket,
};
use super::tls;

/// Everything needed to open more sessions to the same server (monitoring, refresh jobs)
/// without asking for the password again.
#[derive(Clone)]
pub struct Connector {
    resolved: Arc<Resolved>,
    tls: MakeRustlsConnect,
    prompted_password: Arc<Mutex<Option<String>>>,
    prompt: PasswordPrompt,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("resolved", &self.resolved)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub fn new(resolved: Resolved, prompt: PasswordPrompt) -> Result<Connector, ConnectError> {
        let tls = tls::make_connector(&resolved).map_err(ConnectError::Tls)?;
        Ok(Connector {
            resolved: Arc::new(resolved),
            tls,
            prompted_password: Arc::new(Mutex::new(None)),
            prompt,
        })
    }

    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// The same server, user, TLS and password (also one typed at the prompt), another
    /// database: pg_cron's catalog lives in one database of the cluster only.
    pub fn for_database(&self, dbname: &str) -> Connector {
        let mut resolved = (*self.resolved).clone();
        resolved.dbname = dbname.to_string();
        Connector {
            resolved: Arc::new(resolved),
            ..self.clone()
        }
    }

    /// Tries each target in order, like libpq; the error names the last failure.
    pub async fn connect(&self, settings: &SessionSettings) -> Result<Session, ConnectError> {
        let passes: &[bool] = match self.resolved.target_session_attrs {
            TargetSessionAttrs::PreferStandby => &[true, false],
            _ => &[false],
        };
        let mut failures = Vec::new();
        for &standby_only in passes {
            for target in &self.resolved.targets {
                match self.connect_target(target, settings, standby_only).await {
                    Ok(session) => return Ok(session),
                    Err(e) => failures.push(e),
                }
            }
        }
        let mut failures: Vec<String> = failures.into_iter().map(|e| e.to_string()).collect();
        failures.dedup();
        Err(ConnectError::Failed(failures.join("; ")))
    }

    async fn connect_target(
        &self,
        target: &Target,
        settings: &SessionSettings,
        standby_only: bool,
    ) -> Result<Session, ConnectError> {
        let desc = describe_target(target);
        let password = self.password_for(target);
        let attempt = |pw: Option<String>, ssl: PgSslMode| {
            let config = self.config_for(target, pw, ssl);
            let tls = self.tls.clone();
            async move { config.connect(tls).await }
        };
        let first_mode = self.first_ssl_mode(target);
        let mut result = attempt(password.clone(), first_mode).await;
        if let Err(e) = &result
            && let Some(mode) = self.fallback_ssl_mode(target, first_mode, e)
        {
            result = attempt(password.clone(), mode).await;
        }
        if let Err(e) = &result
            && password.is_none()
            && is_password_missing(e)
            && let Some(pw) = self.ask_password().await
        {
            result = attempt(Some(pw), first_mode).await;
        }
        let (client, connection) = result.map_err(|e| {
            ConnectError::Failed(describe_failure(&desc, target, &e, password.is_none()))
        })?;
        tokio::spawn(async move {
            // The connection's errors surface on the client's next call; nothing to do here.
            let _ = connection.await;
        });
        check_session_attrs(&client, self.resolved.target_session_attrs, standby_only)
            .await
            .map_err(|m| ConnectError::Failed(format!("connection to {desc} failed: {m}")))?;
        apply_settings(&client, settings)
            .await
            .map_err(|e| ConnectError::Failed(format!("{desc}: {}", one_line(&e))))?;
        Ok(Session {
            client,
            target: desc,
            tls: self.tls.clone(),
            endpoint: Endpoint::of(target),
        })
    }

    fn password_for(&self, target: &Target) -> Option<String> {
        if let Some(pw) = &self.resolved.password {
            return Some(pw.clone());
        }
        if let Some(pw) = self.prompted_password.lock().ok()?.clone() {
            return Some(pw);
        }
        let passfile = self.resolved.passfile.as_ref()?;
        let entries = match pgpass::read_pgpass(passfile) {
            Ok(entries) => entries,
            Err(skip) => {
                if let Some(warning) = skip.warning() {
                    eprintln!("{warning}");
                }
                return None;
            }
        };
        let host = match &target.host {
            HostSpec::Unix(dir) => {
                pgpass::pgpass_host(&dir.to_string_lossy(), &DEFAULT_SOCKET_DIRS)
            }
            HostSpec::Tcp(name) if name.is_empty() => target
                .hostaddr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "localhost".into()),
            HostSpec::Tcp(name) => name.clone(),
        };
        pgpass::find_password(
            &entries,
            &host,
            &target.port.to_string(),
            &self.resolved.dbname,
            &self.resolved.user,
        )
    }

    async fn ask_password(&self) -> Option<String> {
        if self.prompt == PasswordPrompt::Never || !std::io::stdin().is_terminal() {
            return None;
        }
        let question = format!("Password for user {}: ", self.resolved.user);
        let answer = tokio::task::spawn_blocking(move || rpassword::prompt_password(question))
            .await
            .ok()?
            .ok()?;
        if let Ok(mut slot) = self.prompted_password.lock() {
            *slot = Some(answer.clone());
        }
        Some(answer)
    }

    fn first_ssl_mode(&self, target: &Target) -> PgSslMode {
        // libpq never uses TLS over a Unix socket, whatever sslmode says.
        if over_socket(target) {
            return PgSslMode::Disable;
        }
        match self.resolved.sslmode {
            SslMode::Disable | SslMode::Allow => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        }
    }

    /// allow: plaintext refused -> TLS; prefer: TLS failed -> plaintext (both as libpq).
    fn fallback_ssl_mode(
        &self,
        target: &Target,
        tried: PgSslMode,
        err: &tokio_postgres::Error,
    ) -> Option<PgSslMode> {
        if over_socket(target) {
            return None;
        }
        match (self.resolved.sslmode, tried) {
            (SslMode::Allow, PgSslMode::Disable) if err.as_db_error().is_some() => {
                Some(PgSslMode::Require)
            }
            (SslMode::Prefer, PgSslMode::Prefer) if is_tls_error(err) => Some(PgSslMode::Disable),
            _ => None,
        }
    }

    fn config_for(&self, target: &Target, password: Option<String>, ssl: PgSslMode) -> Config {
        let r = &self.resolved;
        let mut config = Config::new();
        config
            .user(&r.user)
            .dbname(&r.dbname)
            .application_name(&r.application_name)
            .port(target.port)
            .ssl_mode(ssl);
        match &target.host {
            HostSpec::Unix(dir) if target.hostaddr.is_none() => {
                config.host_path(dir);
            }
            // TLS needs a name to check; with only hostaddr, libpq checks the address itself.
            // A socket directory with hostaddr: libpq goes over TCP to the address.
            HostSpec::Unix(_) => {
                if let Some(addr) = target.hostaddr {
                    config.host(addr.to_string());
                }
            }
            HostSpec::Tcp(name) if name.is_empty() => {
                if let Some(addr) = target.hostaddr {
                    config.host(addr.to_string());
                }
            }
            HostSpec::Tcp(name) => {
                config.host(name);
            }
        }
        if let Some(addr) = target.hostaddr {
            config.hostaddr(addr);
        }
        if let Some(pw) = password {
            config.password(pw);
        }
        if let Some(options) = &r.options {
            config.options(options);
        }
        if let Some(timeout) = r.connect_timeout {
            config.connect_timeout(timeout);
        }
        config
    }
}

async fn check_session_attrs(
    client: &Client,
    attrs: TargetSessionAttrs,
    standby_only: bool,
) -> Result<(), String> {
    if attrs == TargetSessionAttrs::Any {
        return Ok(());
    }
    let row = client
        .query_one(
            "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only') = 'on'",
            &[],
        )
        .await
        .map_err(|e| one_line(&e))?;
    let (in_recovery, read_only): (bool, bool) = (row.get(0), row.get(1));
    let ok = match attrs {
        TargetSessionAttrs::Any => true,
        TargetSessionAttrs::ReadWrite => !in_recovery && !read_only,
        TargetSessionAttrs::ReadOnly => in_recovery || read_only,
        TargetSessionAttrs::Primary => !in_recovery,
        TargetSessionAttrs::Standby => in_recovery,
        TargetSessionAttrs::PreferStandby => in_recovery || !standby_only,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "session does not match target_session_attrs \"{attrs}\""
        ))
    }
}

async fn apply_settings(client: &Client, s: &SessionSettings) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "{}{}SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms'",
            if s.jit { "" } else { "SET jit = off; " },
            if s.parallel {
                ""
            } else {
                "SET max_parallel_workers_per_gather = 0; "
            },
            s.lock_timeout.as_millis(),
            s.statement_timeout.as_millis()
        ))
        .await
}

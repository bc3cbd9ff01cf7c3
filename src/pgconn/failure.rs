//! How a failed connection reads: one line, psql's wording where psql has one, never the
//! driver's generic outer wording when a specific cause follows.

use super::resolved::{HostSpec, Target};

pub(super) fn is_password_missing(e: &tokio_postgres::Error) -> bool {
    chain(e).iter().any(|m| m == "password missing")
}

pub(super) fn is_tls_error(e: &tokio_postgres::Error) -> bool {
    chain(e)
        .first()
        .is_some_and(|m| m.starts_with("error performing TLS handshake"))
}

/// The messages of an error and its sources, outermost first.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

/// One line, psql's wording where psql has one: `connection to server at "h", port 5432
/// failed: FATAL: password authentication failed for user "u"`.
pub fn describe_failure(
    desc: &str,
    target: &Target,
    e: &tokio_postgres::Error,
    no_password: bool,
) -> String {
    if let Some(db) = e.as_db_error() {
        return format!(
            "connection to {desc} failed: {}: {}",
            db.severity(),
            db.message()
        );
    }
    let messages = chain(e);
    if messages.iter().any(|m| m == "password missing") && no_password {
        return format!("connection to {desc} failed: fe_sendauth: no password supplied");
    }
    if let Some(m) = messages
        .iter()
        .find(|m| m.contains("failed to lookup address"))
    {
        let host = match &target.host {
            HostSpec::Tcp(h) => h.clone(),
            HostSpec::Unix(d) => d.display().to_string(),
        };
        let reason = m.rsplit(": ").next().unwrap_or(m);
        return format!("could not translate host name \"{host}\" to address: {reason}");
    }
    // Drop tokio-postgres's generic outer wording when a specific cause follows.
    let generic = [
        "error connecting to server",
        "db error",
        "invalid configuration",
    ];
    let specific: Vec<&str> = messages
        .iter()
        .map(String::as_str)
        .filter(|m| !generic.contains(m))
        .collect();
    let text = if specific.is_empty() {
        messages.join(": ")
    } else {
        specific.join(": ")
    };
    format!("connection to {desc} failed: {}", strip_os_error(&text))
}

fn strip_os_error(text: &str) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find(" (os error ") {
        let Some(len) = out[start..].find(')') else {
            break;
        };
        out.replace_range(start..start + len + 1, "");
    }
    out
}

/// An error as one line (PostgreSQL errors: severity and message, no detail lines).
pub fn one_line(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    chain(e).join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_numbers_are_dropped() {
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(strip_os_error("plain"), "plain");
    }
}

//! Scrapes: one read shared by the scrapes that arrive together (single flight), a read
//! younger than `FRESH_FOR` served again, and a small HTTP server that answers
//! `GET /metrics` (404 otherwise), bound to loopback unless told otherwise.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::families::{CONTENT_TYPE, render};
use super::{Reader, SchedulerHealth};

/// A read this young is served again: Prometheus servers scraping together cost one read.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Where `--metrics` listens: a bare port or `localhost:PORT` is loopback; only an explicit
/// address (`0.0.0.0:9187`, `[::]:9187`, `10.0.0.5:9187`) binds elsewhere.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let loopback = |port: &str| {
        port.parse::<u16>()
            .map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p))
            .map_err(|_| format!("--metrics {text:?}: not a port"))
    };
    if let Some(port) = text.strip_prefix("localhost:") {
        return loopback(port);
    }
    if let Some(port) = text.strip_prefix(':') {
        return loopback(port);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return loopback(text);
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("--metrics {text:?}: expected PORT, localhost:PORT or ADDRESS:PORT"))
}

/// The scrape side: the reader behind an async lock (a scrape arriving while a read is out
/// waits for it, then finds its result fresh) and the last exposition.
pub struct Scraper {
    reader: tokio::sync::Mutex<Reader>,
    last: Mutex<Option<(Instant, Arc<String>)>>,
    health: Option<Arc<Mutex<SchedulerHealth>>>,
}

impl Scraper {
    pub fn new(reader: Reader, health: Option<Arc<Mutex<SchedulerHealth>>>) -> Scraper {
        Scraper {
            reader: tokio::sync::Mutex::new(reader),
            last: Mutex::new(None),
            health,
        }
    }

    fn fresh(&self) -> Option<Arc<String>> {
        let last = self.last.lock().ok()?;
        let (at, text) = last.as_ref()?;
        (at.elapsed() < FRESH_FOR).then(|| text.clone())
    }

    /// The exposition: from a read younger than `FRESH_FOR`, or from a new one.
    pub async fn scrape(&self) -> Arc<String> {
        if let Some(text) = self.fresh() {
            return text;
        }
        let mut reader = self.reader.lock().await;
        // The read this scrape waited for may have just finished.
        if let Some(text) = self.fresh() {
            return text;
        }
        let snap = reader.read().await;
        let health = self
            .health
            .as_ref()
            .and_then(|h| h.lock().ok().map(|h| h.clone()));
        let text = Arc::new(render(&snap, health.as_ref(), Utc::now()));
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), text.clone()));
        }
        text
    }
}

/// Serves until the task is dropped; every connection is answered on its own task.
pub async fn serve(listener: TcpListener, scraper: Arc<Scraper>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or the like: try again shortly rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let scraper = scraper.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(30), answer(stream, &scraper)).await;
        });
    }
}

/// The request line is all that matters; headers are read (up to 8 KiB) and ignored.
async fn answer(mut stream: TcpStream, scraper: &Scraper) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, scraper.scrape().await),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            Arc::new("mvtop serves GET /metrics only\n".to_string()),
        ),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn loopback_unless_an_address_is_given() {
        let lo = |p: u16| format!("127.0.0.1:{p}");
        assert_eq!(parse_listen("9187").unwrap().to_string(), lo(9187));
        assert_eq!(
            parse_listen("localhost:9187").unwrap().to_string(),
            lo(9187)
        );
        assert_eq!(parse_listen(":9187").unwrap().to_string(), lo(9187));
        assert_eq!(
            parse_listen("0.0.0.0:9187").unwrap().to_string(),
            "0.0.0.0:9187"
        );
        assert_eq!(
            parse_listen("[::1]:9187").unwrap().to_string(),
            "[::1]:9187"
        );
        assert!(parse_listen("9187x").is_err());
        assert!(parse_listen("example.com:9187").is_err());
    }
}

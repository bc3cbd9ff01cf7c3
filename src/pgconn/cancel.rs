//! Cancelling a session's running statement the way libpq does: the CancelRequest goes
//! over a connection of its own, which is left open until the other side closes it.
//!
//! tokio-postgres's `cancel_query` closes its socket right after writing the request.
//! PgBouncer 1.18 (Debian 12's) then exits with `FATAL ... disconnect_client(): bad client
//! state: 0` (pgbouncer issue #801, fixed in a later release), taking every client's pool
//! with it; libpq waits for the close, and so does this.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::tls::MakeTlsConnect;

use super::failure::one_line;
use super::resolved::HostSpec;
use super::session::Session;

/// How long the request's connection waits for the server to close it.
const LINGER: Duration = Duration::from_secs(5);

impl Session {
    /// Asks the server to cancel what this session is running now.
    pub async fn cancel(&self) -> Result<(), String> {
        let token = self.client.cancel_token();
        let e = &self.endpoint;
        let stream = match &e.host {
            HostSpec::Unix(dir) if e.socket => {
                let path = dir.join(format!(".s.PGSQL.{}", e.port));
                Stream::Unix(UnixStream::connect(path).await.map_err(|e| e.to_string())?)
            }
            HostSpec::Unix(_) | HostSpec::Tcp(_) => {
                let host = match (e.addr, &e.host) {
                    (Some(addr), _) => addr.to_string(),
                    (None, HostSpec::Tcp(name)) => name.clone(),
                    (None, HostSpec::Unix(_)) => return Err("no address to cancel at".into()),
                };
                let tcp = TcpStream::connect((host.as_str(), e.port))
                    .await
                    .map_err(|e| e.to_string())?;
                Stream::Tcp(tcp)
            }
        };
        let lingering = Lingering(Some(stream));
        if e.socket {
            return token
                .cancel_query_raw(lingering, tokio_postgres::NoTls)
                .await
                .map_err(|e| one_line(&e));
        }
        let name = match &e.host {
            HostSpec::Tcp(name) if !name.is_empty() => name.clone(),
            _ => e.addr.map(|a| a.to_string()).unwrap_or_default(),
        };
        let mut tls = self.tls.clone();
        let connect = match <_ as MakeTlsConnect<Lingering>>::make_tls_connect(&mut tls, &name) {
            Ok(c) => c,
            Err(never) => match never {},
        };
        token
            .cancel_query_raw(lingering, connect)
            .await
            .map_err(|e| one_line(&e))
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A stream whose shutdown leaves the socket open, and which, dropped, waits in the
/// background for the other side to close it.
struct Lingering(Option<Stream>);

impl Drop for Lingering {
    fn drop(&mut self) {
        let (Some(mut stream), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        runtime.spawn(async move {
            let mut buf = [0u8; 64];
            let _ = tokio::time::timeout(LINGER, async {
                loop {
                    let read = match &mut stream {
                        Stream::Tcp(s) => s.read(&mut buf).await,
                        Stream::Unix(s) => s.read(&mut buf).await,
                    };
                    if !matches!(read, Ok(n) if n > 0) {
                        break;
                    }
                }
            })
            .await;
        });
    }
}

impl Lingering {
    fn stream(&mut self) -> io::Result<Pin<&mut (dyn AsyncReadWrite + Send + Unpin)>> {
        match self.0.as_mut() {
            Some(Stream::Tcp(s)) => Ok(Pin::new(s)),
            Some(Stream::Unix(s)) => Ok(Pin::new(s)),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        }
    }
}

trait AsyncReadWrite: AsyncRead + AsyncWrite {}
impl<T: AsyncRead + AsyncWrite> AsyncReadWrite for T {}

impl AsyncRead for Lingering {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// The server (or pooler) closes the request's connection once it has acted on it.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

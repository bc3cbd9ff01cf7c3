//! A TCP proxy in front of a throwaway cluster's Unix socket that reads the client's
//! protocol messages and, at the first simple-query `COMMIT`, cuts the client's connection
//! the way a network fault would: after the COMMIT reached the server but before its answer
//! came back, before it reached the server, or with the COMMIT still on its way (it arrives
//! later). Optionally it then refuses every new connection (a partition that lasts).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// Where the first COMMIT is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The server gets the COMMIT; its answer never reaches the client.
    AnswerLost,
    /// The COMMIT never reaches the server.
    RequestLost,
    /// The client is cut at once; the COMMIT reaches the server this much later.
    RequestDelayed(Duration),
}

#[derive(Debug)]
struct Shared {
    plan: Mutex<Option<Cut>>,
    /// Once cut, refuse every new connection.
    partition_after: bool,
    cut: AtomicBool,
}

pub struct CommitCutter {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl CommitCutter {
    /// Listens on 127.0.0.1 and forwards to `socket_dir/.s.PGSQL.port`.
    pub async fn start(
        socket_dir: &std::path::Path,
        port: u16,
        cut: Cut,
        partition_after: bool,
    ) -> CommitCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = socket_dir.join(format!(".s.PGSQL.{port}"));
        let shared = Arc::new(Shared {
            plan: Mutex::new(Some(cut)),
            partition_after,
            cut: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.partition_after && accepting.cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, server.clone(), accepting.clone()));
            }
        });
        CommitCutter {
            addr,
            shared,
            accept,
        }
    }

    /// Whether the COMMIT was cut.
    pub fn did_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// Connection parameters for `dbname` through the proxy.
    pub fn params(&self, dbname: &str) -> mvtop::pgconn::Params {
        let mut p = mvtop::pgconn::Params::default();
        p.set("host", "127.0.0.1");
        p.set("port", self.addr.port().to_string());
        p.set("user", mvtop::cluster::SUPERUSER);
        p.set("dbname", dbname);
        p.set("sslmode", "disable");
        p
    }
}

impl Drop for CommitCutter {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

const SSL_REQUEST: u32 = 80_877_103;

async fn relay(client: TcpStream, server: PathBuf, shared: Arc<Shared>) {
    let Ok(server) = UnixStream::connect(&server).await else {
        return;
    };
    let (mut from_client, to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let answers = tokio::spawn(async move {
        let mut to_client = to_client;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    // The startup packet (and an SSLRequest before it) has no type byte.
    loop {
        let Some(packet) = read_untyped(&mut from_client).await else {
            answers.abort();
            return;
        };
        let code = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        if to_server.write_all(&packet).await.is_err() {
            answers.abort();
            return;
        }
        if code != SSL_REQUEST {
            break;
        }
    }
    while let Some((kind, message)) = read_typed(&mut from_client).await {
        let commit = kind == b'Q' && message[5..] == *b"COMMIT\0";
        let cut = if commit {
            shared.plan.lock().unwrap().take()
        } else {
            None
        };
        let Some(cut) = cut else {
            if to_server.write_all(&message).await.is_err() {
                break;
            }
            continue;
        };
        // The client's connection goes first, so no answer can reach it.
        shared.cut.store(true, Ordering::SeqCst);
        answers.abort();
        drop(from_client);
        match cut {
            Cut::AnswerLost => {
                let _ = to_server.write_all(&message).await;
                // Long enough for the server to commit, then the server side goes too.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Cut::RequestLost => {}
            Cut::RequestDelayed(after) => {
                tokio::time::sleep(after).await;
                let _ = to_server.write_all(&message).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        return;
    }
    answers.abort();
}

async fn read_untyped(r: &mut tokio::net::tcp::OwnedReadHalf) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await.ok()?;
    let n = u32::from_be_bytes(len) as usize;
    let mut packet = len.to_vec();
    packet.resize(n.max(8), 0);
    r.read_exact(&mut packet[4..]).await.ok()?;
    Some(packet)
}

/// One frontend message: its type byte and the whole message as sent.
async fn read_typed(r: &mut tokio::net::tcp::OwnedReadHalf) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await.ok()?;
    let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut message = head.to_vec();
    message.resize(1 + n.max(4), 0);
    r.read_exact(&mut message[5..]).await.ok()?;
    Some((head[0], message))
}

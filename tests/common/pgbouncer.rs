//! Debian's PgBouncer in front of a throwaway cluster, from a config this harness writes:
//! TCP on 127.0.0.1, every database of the cluster (through its Unix socket), trust
//! authentication, the given pool mode. As root it runs as the postgres OS user (PgBouncer
//! refuses root); stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mvtop::cluster::{Cluster, SUPERUSER};

pub struct PgBouncer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgBouncer {
    /// `pool_mode`: session, transaction or statement.
    pub fn start(cluster: &Cluster, pool_mode: &str) -> PgBouncer {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .expect("PgBouncer is needed for this test (apt-get install pgbouncer)");
        let dir = tempfile::Builder::new()
            .prefix("mvtop-pgbouncer-")
            .tempdir()
            .unwrap()
            .keep();
        let port = free_port();
        let config = format!(
            "[databases]\n* = host={} port={}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {}\n\
             pool_mode = {pool_mode}\nmax_client_conn = 200\ndefault_pool_size = 20\n\
             logfile = {}\npidfile = {}\nadmin_users = {SUPERUSER}\n",
            cluster.socket_dir().display(),
            cluster.port(),
            dir.join("users.txt").display(),
            dir.join("pgbouncer.log").display(),
            dir.join("pgbouncer.pid").display(),
        );
        std::fs::write(dir.join("pgbouncer.ini"), config).unwrap();
        std::fs::write(dir.join("users.txt"), format!("\"{SUPERUSER}\" \"\"\n")).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        let mut cmd = if root {
            let status = Command::new("chown")
                .args(["-R", SUPERUSER])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success());
            let mut c = Command::new("runuser");
            c.args(["-u", SUPERUSER, "--", program]);
            c
        } else {
            Command::new(program)
        };
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let child = cmd
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let bouncer = PgBouncer { child, port, dir };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "PgBouncer did not listen: {}",
                bouncer.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Its log and what it wrote on stderr.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("pgbouncer.log"), read("stderr.log"))
    }

    /// A conninfo for `db` through PgBouncer.
    pub fn conninfo(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={SUPERUSER} dbname={db} sslmode=disable",
            self.port
        )
    }

    pub fn params(&self, db: &str) -> mvtop::pgconn::Params {
        let mut p = mvtop::pgconn::Params::default();
        p.set("host", "127.0.0.1");
        p.set("port", self.port.to_string());
        p.set("user", SUPERUSER);
        p.set("dbname", db);
        p.set("sslmode", "disable");
        p
    }

    /// The mvtop binary, pointed at `db` through PgBouncer.
    pub fn mvtop(&self, db: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mvtop"));
        cmd.args(["-d", &self.conninfo(db)]);
        cmd
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // SIGTERM (runuser passes it on), then wait for it.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

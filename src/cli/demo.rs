//! `mvtop demo`: a throwaway PostgreSQL with the demo database and a live write load.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{Failure, connector_for};
use crate::cluster::{Cluster, ClusterOptions};
use crate::demo::{self, DEMO_DB, LOADING};

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Multiplies the demo's row counts (1 = view queries of about a second)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub scale: u32,
    /// Leave the cluster running and its directory in place on exit
    #[arg(long)]
    pub keep: bool,
    /// Do not install the refresh ledger nor the demo's schedules
    #[arg(long)]
    pub no_ledger: bool,
}

pub async fn run(
    args: &DemoArgs,
    ledger: &crate::ledger::Ledger,
    console: &super::console::ConsoleArgs,
) -> Result<(), Failure> {
    super::say("mvtop demo: starting a throwaway PostgreSQL ...");
    let opts = ClusterOptions {
        // Commit timestamps give "last refresh" with no ledger installed.
        settings: vec![("track_commit_timestamp".into(), "on".into())],
        keep: args.keep,
        ..ClusterOptions::default()
    };
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&opts).map(Arc::new))
        .await
        .map_err(|e| Failure::new(e.to_string()))?
        .map_err(|e| Failure::new(e.to_string()))?;
    let admin = connector_for(&cluster.params("postgres"), true)?
        .connect(&LOADING)
        .await
        .map_err(|e| Failure::connection(e.to_string()))?;
    admin
        .client
        .batch_execute(&format!("CREATE DATABASE {DEMO_DB}"))
        .await?;
    let connector = connector_for(&cluster.params(DEMO_DB), true)?;
    let session = connector
        .connect(&LOADING)
        .await
        .map_err(|e| Failure::connection(e.to_string()))?;
    super::say(&format!(
        "mvtop demo: loading the demo database (scale {}) ...",
        args.scale
    ));
    let took = demo::load(&session.client, args.scale).await?;
    super::say(&format!(
        "mvtop demo: loaded in {:.1} s",
        took.as_secs_f64()
    ));
    if !args.no_ledger {
        let mut session = session;
        demo::schedule(&mut session.client, ledger)
            .await
            .map_err(|e| Failure::new(format!("demo ledger: {e}")))?;
        super::say("mvtop demo: ledger installed, four MVs scheduled (mvtop schedule list)");
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // Nothing may write to the terminal under the console: there, load errors stay silent.
    let load = demo::spawn_write_load(connector, Duration::from_millis(500), move |m| {
        if !interactive {
            super::say(&format!("mvtop: warning: {m}"));
        }
    });
    // A lock wait to watch, every few minutes, where a scheduled refresh can meet it.
    let holder = (!args.no_ledger).then(|| {
        let connector = connector_for(&cluster.params(DEMO_DB), true);
        connector.map(|c| {
            demo::spawn_lock_holder(c, demo::LOCK_HOLDING, move |m| {
                if !interactive {
                    super::say(&format!("mvtop: warning: {m}"));
                }
            })
        })
    });
    let holder = holder.transpose()?;
    let conninfo = cluster.conninfo(DEMO_DB);
    if interactive {
        let stop_on_panic = cluster.clone();
        crate::tui::terminal::on_fatal_exit(move || stop_on_panic.stop());
        let demo = connector_for(&cluster.params(DEMO_DB), true)?;
        if let Err(e) = super::console::open(demo, ledger, console).await {
            super::say(&format!("mvtop: error: {}", e.message));
        }
    } else {
        println!("{conninfo}");
        super::say(&format!(
            "mvtop demo: running, with a light write load. Try:\n  \
             cargo run --release -- -d \"{conninfo}\" list\n  \
             psql \"{conninfo}\"\nPress Ctrl-C to stop{}.",
            if args.keep {
                "; the cluster stays up"
            } else {
                " and remove the cluster"
            }
        ));
        wait_for_shutdown().await;
    }
    load.abort();
    if let Some(holder) = holder {
        holder.abort();
    }
    if args.keep {
        super::say(&format!(
            "mvtop demo: kept. Stop it with: {}",
            cluster.stop_command()
        ));
    }
    // Explicitly: the panic-time cleanup holds another handle, so a drop would not stop it.
    cluster.stop();
    Ok(())
}

/// Ctrl-C, SIGTERM or SIGHUP (a dropped SSH session).
async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let next = |s: &mut Option<tokio::signal::unix::Signal>| {
        let mut s = s.take();
        async move {
            match &mut s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = next(&mut term) => {}
        _ = next(&mut hup) => {}
    }
}

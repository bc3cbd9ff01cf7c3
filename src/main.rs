use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mvtop::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            mvtop::cli::say(&format!(
                "mvtop: error: cannot start the async runtime: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mvtop::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            mvtop::cli::say(&format!("mvtop: error: {}", failure.message));
            ExitCode::from(failure.exit_code.clamp(1, 255) as u8)
        }
    }
}

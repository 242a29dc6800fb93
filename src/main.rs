//! The `maillage` command.

use std::process::ExitCode;

use clap::Parser;
use maillage::cli::{Cli, Command};
use maillage::config::{Config, LogFormat};

fn init_tracing(config: &Config, serving: bool) {
    // Management commands print their own results; only warnings and errors go to the log.
    let filter = if serving {
        config.log.filter.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("maillage: {e}");
            return ExitCode::from(2);
        }
    };
    let serving = matches!(cli.command, None | Some(Command::Serve));
    init_tracing(&config, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("maillage: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(maillage::cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if serving {
                tracing::error!(error = %e, "maillage stopped");
            }
            eprintln!("maillage: {}", e.english());
            ExitCode::FAILURE
        }
    }
}

//! The `alarm-digest` binary: parse settings, start logging, run until a signal.

use alarm_digest::app::{shutdown_signal, Application};
use alarm_digest::config::{Cli, Command};
use alarm_digest::{telemetry, tools};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or_else(|| Command::Serve(Box::new(cli.serve))) {
        Command::Serve(config) => {
            telemetry::init(config.log_format);
            let app = Application::build(*config).await?;
            app.run_until(shutdown_signal()).await
        }
        Command::Pub(args) => tools::publish(args).await,
        Command::Sub(args) => tools::subscribe(args).await,
        Command::Load(args) => alarm_digest::load::run(args).await,
    }
}

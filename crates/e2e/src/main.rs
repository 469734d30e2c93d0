//! `e2e`: see `e2e --help`. Exit codes: 0 done, 1 failed, 2 bad usage.

use clap::Parser;
use e2e::cli::{Cli, Command, OutputFormat};
use e2e::progress::Progress;

#[tokio::main]
async fn main() {
    vault_pki::install_ring_provider();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(args, false).await,
        Command::Plan(args) => run(args, true).await,
        Command::Stack(cmd) => match stack::cli(cmd).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}

async fn run(args: e2e::cli::RunArgs, dry_run: bool) -> i32 {
    let progress = Progress::new(args.output == OutputFormat::Json, dry_run);
    progress.init_tracing();
    let (report, err) = e2e::run::execute(&args, dry_run, &progress).await;
    match err {
        None => {
            if args.output == OutputFormat::Text {
                let changed = report
                    .steps
                    .iter()
                    .filter(|s| {
                        !matches!(
                            s.outcome,
                            e2e::report::Outcome::Unchanged | e2e::report::Outcome::Skipped
                        )
                    })
                    .count();
                let steps = report.steps.len();
                let ms = report.duration_ms;
                if dry_run {
                    eprintln!(
                        "plan: {steps} steps, {changed} would change ({ms} ms); nothing was written"
                    );
                } else {
                    let passed = report.verification.iter().filter(|c| c.passed).count();
                    eprintln!(
                        "done: {steps} steps, {changed} changed, {passed} checks passed, {ms} ms; files in {}",
                        args.out.display()
                    );
                }
            }
            0
        }
        Some(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

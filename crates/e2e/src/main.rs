//! `e2e`: see `e2e --help`. Exit codes: 0 done, 1 failed, 2 bad usage.

use std::io::IsTerminal;

use clap::Parser;
use e2e::cli::{
    Cli, Command, DoctorArgs, FleetArgs, FleetCommand, OutputFormat, RotateCommand, RunArgs,
};
use e2e::fleet::Fleet;
use e2e::fleet::render::{FleetRenderer, summary_table};
use e2e::render::TextRenderer;
use e2e::report::{Outcome, Report};
use e2e::{NoObserver, RunConfig};

#[tokio::main]
async fn main() {
    vault_pki::install_ring_provider();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(args, false).await,
        Command::Plan(args) => run(args, true).await,
        Command::Doctor(args) => doctor(args).await,
        Command::Fleet(FleetCommand::Run(args)) => fleet(args, false).await,
        Command::Fleet(FleetCommand::Plan(args)) => fleet(args, true).await,
        Command::Rotate(cmd) => rotate(cmd).await,
        Command::Stack(cmd) => match stack::cli(cmd).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {:#}", anyhow::Error::new(e));
                1
            }
        },
    };
    std::process::exit(code);
}

async fn run(args: RunArgs, dry_run: bool) -> i32 {
    init_tracing();
    if args.output == OutputFormat::Prometheus {
        eprintln!("error: bad usage: --output prometheus is for e2e doctor");
        return 2;
    }
    let cfg = match RunConfig::from_args(&args, dry_run) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let output = match args.output {
        OutputFormat::Json => e2e::run(&cfg, &NoObserver).await,
        _ => e2e::run(&cfg, &TextRenderer::new(dry_run)).await,
    };
    if args.output == OutputFormat::Json {
        print!("{}", output.report.to_json());
    }
    match output.error {
        None => {
            if args.output == OutputFormat::Text {
                eprintln!("{}", summary(&output.report, &args));
            }
            0
        }
        Some(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn doctor(args: DoctorArgs) -> i32 {
    init_tracing();
    let cfg = match RunConfig::from_args(&args.run, true) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let report = match &args.fleet {
        None => e2e::doctor::doctor(&cfg, args.margin.0).await,
        Some(file) => {
            let tools = e2e::fleet::ClusterTools::default();
            match Fleet::read(file, &args.run.vault, &args.run.out, &tools) {
                Ok(fleet) => e2e::doctor::doctor_fleet(&fleet, args.margin.0).await,
                Err(e) => {
                    eprintln!("error: {e}");
                    return e.exit_code();
                }
            }
        }
    };
    match args.run.output {
        OutputFormat::Text => print!("{}", report.to_text()),
        OutputFormat::Json => print!("{}", report.to_json()),
        OutputFormat::Prometheus => print!("{}", report.to_prometheus()),
    }
    report.exit_code()
}

async fn fleet(args: FleetArgs, dry_run: bool) -> i32 {
    init_tracing();
    if args.output == OutputFormat::Prometheus {
        eprintln!("error: bad usage: --output prometheus is for e2e doctor");
        return 2;
    }
    let fleet = match Fleet::from_args(&args, dry_run) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let output = match args.output {
        OutputFormat::Json => e2e::fleet::run(&fleet, &NoObserver).await,
        _ => {
            let names = fleet.clusters.iter().map(|c| c.name.as_str());
            e2e::fleet::run(&fleet, &FleetRenderer::new(dry_run, names)).await
        }
    };
    match args.output {
        OutputFormat::Json => print!("{}", output.report.to_json()),
        _ => eprintln!("{}", summary_table(&output.report)),
    }
    if let Some(e) = &output.error {
        eprintln!("error: {e}");
    } else if let Some(c) = output.report.failed().next() {
        eprintln!(
            "error: cluster {} failed{}; see {}/report.json",
            c.name,
            c.error
                .as_ref()
                .map(|e| format!(": {}", e.message))
                .unwrap_or_default(),
            c.out
        );
    } else if !dry_run && args.output == OutputFormat::Text {
        eprintln!("files in {}", args.out.display());
    }
    output.exit_code()
}

/// The closing line of a successful run or plan.
fn summary(report: &Report, args: &RunArgs) -> String {
    let changed = report
        .steps
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Unchanged | Outcome::Skipped))
        .count();
    let steps = report.steps.len();
    let ms = report.duration_ms;
    if report.dry_run {
        format!("plan: {steps} steps, {changed} would change ({ms} ms); nothing was written")
    } else {
        let passed = report.verification.iter().filter(|c| c.passed).count();
        format!(
            "done: {steps} steps, {changed} changed, {passed} checks passed, {ms} ms; files in {}",
            args.out.display()
        )
    }
}

/// Log lines on stderr for people debugging, filtered by `E2E_LOG` (default: warnings, without
/// vaultrs'/rustify's own lines, whose failures come back as errors anyway); colours only on
/// a terminal. No program reads them.
async fn rotate(cmd: RotateCommand) -> i32 {
    init_tracing();
    let run = match &cmd {
        RotateCommand::Intermediate(a) => &a.run,
        RotateCommand::Root(a) => &a.run,
        RotateCommand::SecretId(a) => &a.run,
    };
    if run.output == OutputFormat::Prometheus {
        eprintln!("error: bad usage: --output prometheus is for e2e doctor");
        return 2;
    }
    let fleet_file = match &cmd {
        RotateCommand::Intermediate(a) => a.fleet.clone(),
        RotateCommand::Root(a) => a.fleet.clone(),
        RotateCommand::SecretId(a) => a.fleet.clone(),
    };
    if let Some(file) = fleet_file {
        return rotate_fleet(&cmd, run, &file).await;
    }
    let cfg = match RunConfig::from_args(run, false) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let json = run.output == OutputFormat::Json;
    let text = TextRenderer::new(false);
    let observer: &dyn e2e::Observer = if json { &NoObserver } else { &text };
    let output = match &cmd {
        RotateCommand::Intermediate(a) => {
            let opts = e2e::rotate::IntermediateOptions::from_args(a);
            e2e::rotate::intermediate(&cfg, &opts, observer).await
        }
        RotateCommand::Root(a) => match e2e::rotate::RootOptions::from_args(a) {
            Ok(opts) => e2e::rotate::root(&cfg, &opts, observer).await,
            Err(e) => {
                eprintln!("error: {e}");
                return e.exit_code();
            }
        },
        RotateCommand::SecretId(_) => e2e::rotate::secret_id(&cfg, observer).await,
    };
    if json {
        print!("{}", output.report.to_json());
    }
    match output.error {
        None => {
            if !json {
                let r = &output.report;
                eprintln!(
                    "{}",
                    rotate_line(&r.command, r.status, None, r.duration_ms, &r.pending)
                );
            }
            0
        }
        Some(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn rotate_fleet(cmd: &RotateCommand, run: &RunArgs, file: &std::path::Path) -> i32 {
    use e2e::rotate::FleetRotation;
    let tools = e2e::fleet::ClusterTools {
        helm: run.tools.helm.clone(),
        istio_csr_chart: run.tools.istio_csr_chart.clone(),
        wait_timeout: std::time::Duration::from_secs(run.tools.wait_timeout.max(1)),
    };
    let fleet = match Fleet::read(file, &run.vault, &run.out, &tools) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    let what = match cmd {
        RotateCommand::Intermediate(a) => {
            FleetRotation::Intermediate(e2e::rotate::IntermediateOptions::from_args(a))
        }
        RotateCommand::Root(a) => match e2e::rotate::RootOptions::from_args(a) {
            Ok(o) => FleetRotation::Root(o),
            Err(e) => {
                eprintln!("error: {e}");
                return e.exit_code();
            }
        },
        RotateCommand::SecretId(_) => FleetRotation::SecretId,
    };
    let json = run.output == OutputFormat::Json;
    let names = fleet.clusters.iter().map(|c| c.name.as_str());
    let renderer = FleetRenderer::new(false, names);
    let observer: &dyn e2e::fleet::FleetObserver = if json { &NoObserver } else { &renderer };
    let output = e2e::rotate::fleet::fleet(&fleet, &what, observer).await;
    if json {
        print!("{}", output.report.to_json());
    }
    match output.error {
        None => {
            if !json {
                let r = &output.report;
                let n = Some(r.clusters.len());
                eprintln!(
                    "{}",
                    rotate_line(&r.command, r.status, n, r.duration_ms, &r.pending)
                );
            }
            0
        }
        Some(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// A rotation's last line: `rotate root: paused, 2 clusters, 812 ms; left: retire`.
fn rotate_line(
    command: &str,
    status: e2e::rotate::RotateStatus,
    clusters: Option<usize>,
    duration_ms: u64,
    pending: &[String],
) -> String {
    let status = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut line = format!("{command}: {status}");
    if let Some(n) = clusters {
        line.push_str(&format!(", {n} clusters"));
    }
    line.push_str(&format!(", {duration_ms} ms"));
    if !pending.is_empty() {
        line.push_str(&format!("; left: {}", pending.join(", ")));
    }
    line
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("E2E_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,vaultrs=off,rustify=off"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}

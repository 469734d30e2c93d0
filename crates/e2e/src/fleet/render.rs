//! The fleet's terminal output: one line per cluster and step (the cluster's name first, so
//! that concurrent clusters read apart), a line as each cluster ends, and a summary table.

use super::observer::{FleetEvent, FleetObserver};
use super::report::FleetReport;
use crate::observer::Event;
use crate::render::{check_line, step_line};
use crate::report::Status;

/// Prints a fleet run's events on stderr, a line each.
#[derive(Debug)]
pub struct FleetRenderer {
    dry_run: bool,
    width: usize,
}

/// The tag of the shared phase's lines.
const ROOT_TAG: &str = "(root)";

impl FleetRenderer {
    /// A renderer for clusters named `names` (for the column width).
    pub fn new<'a>(dry_run: bool, names: impl IntoIterator<Item = &'a str>) -> Self {
        let width = names
            .into_iter()
            .map(str::len)
            .chain([ROOT_TAG.len()])
            .max()
            .unwrap_or(0);
        FleetRenderer { dry_run, width }
    }

    fn line(&self, tag: &str, event: &Event<'_>) -> Option<String> {
        let body = match event {
            Event::Step(rec) => step_line(rec, self.dry_run),
            Event::Note(msg) => msg.to_string(),
            Event::Check { phase, check } => check_line(phase, check, self.dry_run),
            Event::Waiting(what) => format!("waiting: {what}"),
            _ => return None,
        };
        Some(format!("{tag:<w$}  {body}", w = self.width))
    }
}

impl FleetObserver for FleetRenderer {
    fn on_fleet_event(&self, event: &FleetEvent<'_>) {
        let line = match event {
            FleetEvent::Root(e) => self.line(ROOT_TAG, e),
            FleetEvent::Cluster { name, event } => self.line(name, event),
            FleetEvent::ClusterDone(c) => Some(format!(
                "{:<w$}  {}",
                c.name,
                match &c.error {
                    None => format!(
                        "{} in {} ms: {} changed, {} checks passed",
                        if self.dry_run { "planned" } else { "done" },
                        c.duration_ms,
                        c.changed,
                        c.verification.iter().filter(|k| k.passed).count()
                    ),
                    Some(e) => format!("FAILED after {} ms: {}", c.duration_ms, e.message),
                },
                w = self.width
            )),
            FleetEvent::Orphan(o) => Some(format!(
                "{:<w$}  {} (no longer in the fleet file): {}",
                o.name,
                if o.pruned { "pruned" } else { "orphaned" },
                if o.left.is_empty() {
                    "nothing left in Vault".to_string()
                } else {
                    o.left.join(", ")
                },
                w = self.width
            )),
        };
        if let Some(l) = line {
            eprintln!("{l}");
        }
    }
}

/// The table printed at the end: a row per cluster.
pub fn summary_table(report: &FleetReport) -> String {
    let w = report
        .clusters
        .iter()
        .map(|c| c.name.len())
        .chain(["cluster".len()])
        .max()
        .unwrap_or(7);
    let mut s = format!(
        "{:<w$}  {:<10}  {:<7}  {:>7}  {:>6}  {:>9}\n",
        "cluster", "cluster ID", "status", "changed", "checks", "time"
    );
    for c in &report.clusters {
        let passed = c.verification.iter().filter(|k| k.passed).count();
        s.push_str(&format!(
            "{:<w$}  {:<10}  {:<7}  {:>7}  {:>6}  {:>6} ms\n",
            c.name,
            c.cluster_id,
            match c.status {
                Status::Done => "done",
                Status::Failed => "FAILED",
            },
            c.changed,
            format!("{passed}/{}", c.verification.len()),
            c.duration_ms
        ));
    }
    let failed = report.failed().count();
    s.push_str(&format!(
        "{} clusters, {} failed, {} orphaned; {} ms",
        report.clusters.len(),
        failed,
        report.orphaned.iter().filter(|o| !o.pruned).count(),
        report.duration_ms
    ));
    s
}

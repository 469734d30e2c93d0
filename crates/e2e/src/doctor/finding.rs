//! What `e2e doctor` reports: findings with a stable id, a severity, the object they are about,
//! what is wrong and what to do; and gauges for a Prometheus textfile collector.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Broken now, or about to break a handshake.
    Error,
    /// Works, but needs attention (an expiry within the margin, a wider policy).
    Warning,
    /// Checked and fine.
    Ok,
}

impl Severity {
    /// The word for it.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Ok => "ok",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `policy.least-privilege`.
    pub id: &'static str,
    /// The fleet's cluster it is about (`doctor --fleet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// How bad.
    pub severity: Severity,
    /// The Vault path or Kubernetes object it is about.
    pub subject: String,
    /// What was found.
    pub message: String,
    /// What to do (empty when fine).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Finding {
    /// A fine finding.
    pub fn ok(id: &'static str, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Finding::with(
            Severity::Ok,
            id,
            subject.into(),
            message.into(),
            String::new(),
        )
    }

    /// A warning.
    pub fn warning(
        id: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding::with(
            Severity::Warning,
            id,
            subject.into(),
            message.into(),
            fix.into(),
        )
    }

    /// An error.
    pub fn error(
        id: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding::with(
            Severity::Error,
            id,
            subject.into(),
            message.into(),
            fix.into(),
        )
    }

    fn with(
        severity: Severity,
        id: &'static str,
        subject: String,
        message: String,
        fix: String,
    ) -> Self {
        Finding {
            id,
            cluster: None,
            severity,
            subject,
            message,
            fix,
        }
    }
}

/// A number for monitoring, e.g. the days a CA has left.
#[derive(Debug, Clone, Serialize)]
pub struct Gauge {
    /// The metric's name (`e2e_doctor_…`).
    pub name: &'static str,
    /// What it is.
    pub help: &'static str,
    /// Its labels.
    pub labels: Vec<(&'static str, String)>,
    /// Its value.
    pub value: f64,
}

/// Counts per severity.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Passed checks.
    pub ok: usize,
}

/// The doctor's report: `{"findings": [...], "summary": {...}, "gauges": [...]}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DoctorReport {
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
    /// Counts per severity.
    pub summary: Summary,
    /// Numbers for monitoring.
    pub gauges: Vec<Gauge>,
}

impl DoctorReport {
    /// Adds a finding.
    pub fn push(&mut self, f: Finding) {
        match f.severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
            Severity::Ok => self.summary.ok += 1,
        }
        self.findings.push(f);
    }

    /// The finding with `id` and the worst severity, if any.
    pub fn get(&self, id: &str) -> Option<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.id == id)
            .min_by_key(|f| f.severity)
    }

    /// Adds `other`'s findings and gauges, each tagged with `cluster`.
    pub fn merge_cluster(&mut self, cluster: &str, other: DoctorReport) {
        for mut f in other.findings {
            f.cluster = Some(cluster.to_string());
            self.push(f);
        }
        for mut g in other.gauges {
            g.labels.insert(0, ("cluster", cluster.to_string()));
            self.gauges.push(g);
        }
    }

    /// The exit code: 1 when any error was found.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.summary.errors > 0)
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }

    /// The findings grouped by severity (errors first), each with what to do.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for sev in [Severity::Error, Severity::Warning, Severity::Ok] {
            let group: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == sev).collect();
            if group.is_empty() {
                continue;
            }
            s.push_str(&format!("{} ({}):\n", sev.word(), group.len()));
            for f in group {
                let subject = match &f.cluster {
                    Some(c) => format!("[{c}] {}", f.subject),
                    None => f.subject.clone(),
                };
                s.push_str(&format!("  {:<7} {:<28} {subject}\n", sev.word(), f.id));
                s.push_str(&format!("          {}\n", f.message));
                if !f.fix.is_empty() {
                    s.push_str(&format!("          fix: {}\n", f.fix));
                }
            }
        }
        s.push_str(&format!(
            "{} errors, {} warnings, {} ok\n",
            self.summary.errors, self.summary.warnings, self.summary.ok
        ));
        s
    }

    /// The Prometheus text exposition format, for a textfile collector.
    pub fn to_prometheus(&self) -> String {
        let mut s = String::from(
            "# HELP e2e_doctor_findings Findings of e2e doctor, by severity.\n# TYPE e2e_doctor_findings gauge\n",
        );
        for (sev, n) in [
            ("error", self.summary.errors),
            ("warning", self.summary.warnings),
            ("ok", self.summary.ok),
        ] {
            s.push_str(&format!("e2e_doctor_findings{{severity=\"{sev}\"}} {n}\n"));
        }
        let mut seen = Vec::new();
        for g in &self.gauges {
            if !seen.contains(&g.name) {
                s.push_str(&format!(
                    "# HELP {} {}\n# TYPE {} gauge\n",
                    g.name, g.help, g.name
                ));
                seen.push(g.name);
            }
            let labels: Vec<String> = g
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            s.push_str(&format!("{}{{{}}} {}\n", g.name, labels.join(","), g.value));
        }
        s
    }
}

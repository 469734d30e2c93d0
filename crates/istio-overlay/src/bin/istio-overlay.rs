//! `istio-overlay`: apply, explain and lint Istio k8s overlays offline, exactly as Istio's
//! operator applies them.
//!
//! Exit codes: 0 success; 1 a patch or overlay failed, or lint found an error; 2 unusable
//! input (unreadable file, not YAML/JSON, not the expected shape) or bad usage.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use istio_overlay::{
    Error, K8sObjectOverlay, Patch, Severity, YamlVersion, apply_overlays,
    apply_patches_keep_going, component_overlays, explain, lint, lint_yaml, parse_document_with,
    parse_documents_with, to_yaml, to_yaml_documents,
};
use serde_json::{Value, json};

// Patching allocates and frees many small nodes: mimalloc does that in a fraction of the
// system allocator's time (see the crate README's figures).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "istio-overlay",
    version,
    about = "Apply, explain and lint Istio k8s overlays offline, exactly as Istio's operator applies them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How plain scalars in input files read: `1.1` as kubectl and Istio read them (`yes`,
    /// `on`, `y` are booleans, `017` octal), or `1.2` (only `true`/`false` are booleans).
    /// Strings Istio re-parses as YAML are always read as 1.1, as Istio does.
    #[arg(long, global = true, value_enum, default_value = "1.1")]
    yaml: Yaml,
}

#[derive(Clone, Copy, ValueEnum)]
enum Yaml {
    #[value(name = "1.1")]
    V11,
    #[value(name = "1.2")]
    V12,
}

impl From<Yaml> for YamlVersion {
    fn from(y: Yaml) -> Self {
        match y {
            Yaml::V11 => YamlVersion::V1_1,
            Yaml::V12 => YamlVersion::V1_2,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    Text,
    Yaml,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Apply a list of tree-path patches ({path, value}; no value deletes) to one object.
    ///
    /// On any failing patch: every error on stderr, exit 1, and nothing on stdout unless
    /// --keep-going (then the object with every patch that could apply is printed).
    Patch {
        /// The object, YAML or JSON (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        object: String,
        /// The patches: a YAML/JSON list of {path, value} (or an overlay with `patches`).
        #[arg(long, value_name = "FILE")]
        patches: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "yaml")]
        output: Format,
        /// Print the object even when some patches fail (exit status is still 1).
        #[arg(long)]
        keep_going: bool,
    },
    /// Apply overlays to multi-document manifests and print every document.
    ///
    /// Overlays: a list of {apiVersion, kind, name, namespace?, patches}, a map with an
    /// `overlays` list, or a TSB ControlPlane (its spec.components.istio.kubeSpec.overlays).
    /// `-o json` prints a `v1 List` of the documents.
    Apply {
        /// The manifests, multi-document YAML or JSON (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        manifests: String,
        /// The overlays.
        #[arg(long, value_name = "FILE")]
        overlays: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "yaml")]
        output: Format,
        /// Print the documents even when some patches or overlays fail (exit status is still 1).
        #[arg(long)]
        keep_going: bool,
        /// Then apply each IstioOperator's spec.components.*.k8s.overlays (from the patched
        /// manifests) to the other documents, as Istio does when it renders.
        #[arg(long)]
        nested: bool,
    },
    /// Print the RFC 6902 operations each patch resolves to against the object (JSON by default).
    Explain {
        /// The object, YAML or JSON (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        object: String,
        /// The patches: a YAML/JSON list of {path, value}.
        #[arg(long, value_name = "FILE")]
        patches: String,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "json")]
        output: Format,
    },
    /// Find fragile overlays, each finding with a robust rewrite; exit 1 on any error finding.
    Lint {
        /// The overlays (same shapes as `apply`).
        #[arg(long, value_name = "FILE")]
        overlays: String,
        /// The manifests the overlays apply to: makes findings precise (which element an index
        /// overwrites, how many a selector matches, overlays matching nothing).
        #[arg(long, value_name = "FILE")]
        manifests: Option<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value = "text")]
        output: LintFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read(name: &str, stdin_used: &mut bool) -> anyhow::Result<String> {
    if name == "-" {
        if *stdin_used {
            bail!("only one input can be `-` (stdin)");
        }
        *stdin_used = true;
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(name).with_context(|| format!("reading {name}"))
    }
}

fn read_patches(name: &str, stdin: &mut bool, yaml: YamlVersion) -> anyhow::Result<Vec<Patch>> {
    let v = parse_document_with(name, &read(name, stdin)?, yaml)?;
    // A list of patches; or one overlay (its `patches`), alone or as a one-element list.
    let list = match &v {
        Value::Array(items) if items.len() == 1 && items[0].get("path").is_none() => {
            items[0].get("patches").cloned().unwrap_or(Value::Null)
        }
        Value::Object(_) => v.get("patches").cloned().unwrap_or(v),
        _ => v,
    };
    if list.is_null() {
        return Ok(Vec::new());
    }
    serde_json::from_value(list)
        .with_context(|| format!("{name}: not a list of patches ({{path, value}})"))
}

fn read_overlays(
    name: &str,
    text: &str,
    yaml: YamlVersion,
) -> anyhow::Result<Vec<K8sObjectOverlay>> {
    let v = parse_document_with(name, text, yaml)?;
    Ok(K8sObjectOverlay::list_from_value(name, &v)?)
}

fn print(docs: &[Value], format: Format, single: bool) -> anyhow::Result<()> {
    let text = match (format, single) {
        (Format::Yaml, _) => to_yaml_documents(docs),
        (Format::Json, true) => format!("{}\n", serde_json::to_string_pretty(&docs[0])?),
        (Format::Json, false) => {
            format!(
                "{}\n",
                serde_json::to_string_pretty(
                    &json!({"apiVersion": "v1", "kind": "List", "items": docs})
                )?
            )
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(())
}

fn report(errors: &[Error]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut stdin = false;
    let yaml = YamlVersion::from(cli.yaml);
    match cli.command {
        Command::Patch {
            object,
            patches,
            output,
            keep_going,
        } => {
            let mut obj = parse_document_with(&object, &read(&object, &mut stdin)?, yaml)?;
            let patches = read_patches(&patches, &mut stdin, yaml)?;
            match apply_patches_keep_going(&mut obj, &patches) {
                Ok(()) => {
                    print(std::slice::from_ref(&obj), output, true)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    if keep_going {
                        print(std::slice::from_ref(&obj), output, true)?;
                    }
                    report(&errors.0);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Apply {
            manifests,
            overlays,
            output,
            keep_going,
            nested,
        } => {
            let mut docs = parse_documents_with(&manifests, &read(&manifests, &mut stdin)?, yaml)?;
            let overlays = read_overlays(&overlays, &read(&overlays, &mut stdin)?, yaml)?;
            let mut errors: Vec<Error> = apply_overlays(&mut docs, &overlays)
                .err()
                .map(|e| e.0)
                .unwrap_or_default();
            if nested {
                let iops: Vec<Value> = docs
                    .iter()
                    .filter(|d| d["kind"] == "IstioOperator")
                    .cloned()
                    .collect();
                for iop in &iops {
                    for c in component_overlays(iop)? {
                        if let Err(e) = apply_overlays(&mut docs, &c.overlays) {
                            errors.extend(e.0.into_iter().map(|source| Error::InComponent {
                                component: c.component.clone(),
                                source: Box::new(source),
                            }));
                        }
                    }
                }
            }
            if errors.is_empty() || keep_going {
                print(&docs, output, false)?;
            }
            report(&errors);
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Explain {
            object,
            patches,
            output,
        } => {
            let obj = parse_document_with(&object, &read(&object, &mut stdin)?, yaml)?;
            let patches = read_patches(&patches, &mut stdin, yaml)?;
            let explained = explain(&obj, &patches);
            let failed = explained.iter().any(|e| e.error.is_some());
            let out: Vec<Value> = explained
                .iter()
                .map(|e| {
                    let mut v =
                        json!({"index": e.index, "path": e.path, "operations": e.operations});
                    if let Some(err) = &e.error {
                        v["error"] = json!(err.to_string());
                    }
                    v
                })
                .collect();
            let text = match output {
                Format::Json => format!("{}\n", serde_json::to_string_pretty(&out)?),
                Format::Yaml => to_yaml(&serde_json::to_value(&out)?),
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
            for e in explained.iter().filter_map(|e| e.error.as_ref()) {
                eprintln!("error: {e}");
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Lint {
            overlays,
            manifests,
            output,
        } => {
            let overlays_text = read(&overlays, &mut stdin)?;
            let parsed = read_overlays(&overlays, &overlays_text, yaml)?;
            let docs = match &manifests {
                Some(m) => Some(parse_documents_with(m, &read(m, &mut stdin)?, yaml)?),
                None => None,
            };
            let mut findings = lint_yaml(&overlays, &overlays_text)?;
            findings.extend(lint(&parsed, docs.as_deref()));
            let text = match output {
                LintFormat::Json => format!("{}\n", serde_json::to_string_pretty(&findings)?),
                LintFormat::Yaml => serde_yaml::to_string(&findings)?,
                LintFormat::Text => {
                    let mut s = String::new();
                    for f in &findings {
                        let sev = match f.severity {
                            Severity::Error => "error",
                            Severity::Warning => "warning",
                        };
                        s.push_str(&format!("{sev}[{}] {}", f.code, f.location));
                        if !f.target.is_empty() {
                            s.push_str(&format!(" ({})", f.target));
                        }
                        s.push('\n');
                        if let Some(p) = &f.path {
                            s.push_str(&format!("  path:    {p}\n"));
                        }
                        s.push_str(&format!("  {}\n", f.message));
                        if let Some(r) = &f.rewrite {
                            s.push_str(&format!("  rewrite: {}", r.path));
                            if let Some(v) = &r.value {
                                s.push_str(&format!("  value: {v}"));
                            }
                            s.push('\n');
                        }
                    }
                    s
                }
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            eprintln!(
                "{} findings: {errors} errors, {} warnings",
                findings.len(),
                findings.len() - errors
            );
            Ok(if errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

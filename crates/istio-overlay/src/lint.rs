//! lint (placeholder)
use serde_json::Value;
use crate::overlay::K8sObjectOverlay;
/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Severity { /// e
Error, /// w
Warning }
/// Rewrite.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rewrite { /// p
pub path: String }
/// Finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding { /// s
pub severity: Severity }
/// lint
pub fn lint(_o: &[K8sObjectOverlay], _m: Option<&[Value]>) -> Vec<Finding> { Vec::new() }

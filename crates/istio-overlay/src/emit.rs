//! Writing YAML that reads back the same under YAML 1.1 (kubectl, Istio) and 1.2: a string is
//! written plain only when no reading could take it for anything else, otherwise quoted.

use serde_json::Value;

use crate::yaml::{resolve_plain_1_1, resolve_plain_1_2};

/// Writes `v` as block YAML (lists at their key's indentation, as `serde_yaml` writes them).
///
/// ```
/// use serde_json::json;
/// let text = istio_overlay::to_yaml(&json!({"a": "yes", "b": ["x", 1, true]}));
/// assert_eq!(text, "a: \"yes\"\nb:\n- x\n- 1\n- true\n");
/// ```
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    for line in lines(v) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn lines(v: &Value) -> Vec<String> {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut out = Vec::new();
            for (k, e) in m {
                let key = scalar_string(k);
                match e {
                    Value::Object(c) if !c.is_empty() => {
                        out.push(format!("{key}:"));
                        out.extend(lines(e).into_iter().map(|l| format!("  {l}")));
                    }
                    Value::Array(c) if !c.is_empty() => {
                        out.push(format!("{key}:"));
                        out.extend(lines(e));
                    }
                    _ => {
                        let mut child = lines(e).into_iter();
                        out.push(format!("{key}: {}", child.next().unwrap_or_default()));
                        out.extend(child);
                    }
                }
            }
            out
        }
        Value::Array(a) if !a.is_empty() => {
            let mut out = Vec::new();
            for e in a {
                let mut child = lines(e).into_iter();
                out.push(format!("- {}", child.next().unwrap_or_default()));
                out.extend(child.map(|l| format!("  {l}")));
            }
            out
        }
        Value::Object(_) => vec!["{}".into()],
        Value::Array(_) => vec!["[]".into()],
        Value::Null => vec!["null".into()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        Value::String(s) => string_lines(s),
    }
}

/// A string as a literal block (`|` or `|-`) when it has several lines that allow one, else as
/// one scalar.
fn string_lines(s: &str) -> Vec<String> {
    let body = s.strip_suffix('\n').unwrap_or(s);
    let block = body.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t', '\n'])
        && !s.contains(['\r', '\t'])
        && body.lines().all(|l| l.trim_end() == l);
    if !block {
        return vec![scalar_string(s)];
    }
    let head = if body.len() == s.len() { "|-" } else { "|" };
    std::iter::once(head.to_string())
        .chain(body.split('\n').map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("  {l}")
            }
        }))
        .collect()
}

/// A string written plain when it is plainly a string under both readings, else double-quoted
/// (JSON string syntax is valid YAML).
fn scalar_string(s: &str) -> String {
    let safe_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./=@-:".contains(c));
    let plain = safe_chars
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && !s.ends_with(':')
        && resolve_plain_1_1(s) == Value::String(s.into())
        && resolve_plain_1_2(s) == Value::String(s.into());
    if plain {
        s.into()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

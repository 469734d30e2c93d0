//! Reading YAML as kubectl and Istio do: YAML 1.1 scalar resolution (gopkg.in/yaml.v2's
//! `resolve.go`, which `sigs.k8s.io/yaml` forks), or YAML 1.2 on request.
//!
//! Only plain (unquoted) scalars are resolved; quoted and block scalars are always strings.
//!
//! ```
//! use istio_overlay::{YamlVersion, parse_documents_with};
//! use serde_json::json;
//!
//! let text = "a: yes\nb: 'yes'\nc: 0o17\nd: 1_000\n";
//! let v11 = parse_documents_with("doc", text, YamlVersion::V1_1)?;
//! assert_eq!(v11[0], json!({"a": true, "b": "yes", "c": 15, "d": 1000}));
//! let v12 = parse_documents_with("doc", text, YamlVersion::V1_2)?;
//! assert_eq!(v12[0]["a"], json!("yes"));
//! # Ok::<(), istio_overlay::Error>(())
//! ```

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{Error, Result};

/// Which YAML reading applies to plain scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum YamlVersion {
    /// YAML 1.1 as yaml.v2 resolves it (kubectl, `sigs.k8s.io/yaml`, Istio): `yes`/`on`/`y`
    /// are booleans, `017` and `0o17` octal, `1_000` a number.
    #[default]
    V1_1,
    /// YAML 1.2 core schema (`serde_yaml`): only `true`/`false` are booleans.
    V1_2,
}

/// Resolves a plain scalar as yaml.v2 does (YAML 1.1), into a JSON value.
///
/// Booleans: `y Y yes Yes YES true True TRUE on On ON` and `n N no No NO false False FALSE off
/// Off OFF`. Null: empty, `~`, `null`, `Null`, `NULL`. Numbers, for text starting with a digit
/// or a sign, after removing every `_`: Go's `strconv.ParseInt(s, 0, 64)` (`0x1F`, `0o17`,
/// leading-zero octal `017`, `0b101`, signs), then `ParseUint`, then a float matching
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` (so `08` is the float 8); text
/// starting with `.` is a float when Go's `ParseFloat` reads it (`.5`). No sexagesimal
/// (`190:20:30` is a string). Everything else is a string, including timestamps (yaml.v2
/// gives `interface{}` targets the text) and `.inf`/`.nan`, which JSON cannot hold.
pub fn resolve_plain_1_1(s: &str) -> Value {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first == b'.' {
        // Go's ParseFloat of text starting with a dot: digits, optional exponent.
        return if float_form(s) {
            float_value(s).unwrap_or_else(|| Value::String(s.into()))
        } else {
            Value::String(s.into())
        };
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Value::String(s.into());
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if let Some(n) = go_parse_int(&plain) {
        return Value::Number(n);
    }
    if let Some(v) = float_form(&plain).then(|| float_value(&plain)).flatten() {
        return v;
    }
    Value::String(s.into())
}

/// The YAML 1.2 reading of a plain scalar (what `serde_yaml` gives it).
pub fn resolve_plain_1_2(s: &str) -> Value {
    match serde_yaml::from_str::<Value>(s) {
        Ok(v @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_))) => v,
        _ => Value::String(s.into()),
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, yaml.v2's `yamlStyleFloat`.
fn float_form(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A finite float (Go's `ParseFloat` fails out of range, and the scalar stays a string).
fn float_value(s: &str) -> Option<Value> {
    let f: f64 = s.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let signed = s.len() != body.len();
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        // -9223372036854775808 fits; anything larger does not (and ParseUint takes no sign).
        match i64::try_from(magnitude) {
            Ok(i) => Some(Number::from(-i)),
            Err(_) if magnitude == i64::MIN.unsigned_abs() => Some(Number::from(i64::MIN)),
            Err(_) => None,
        }
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Number::from(i))
    } else if signed {
        None
    } else {
        Some(Number::from(magnitude))
    }
}

/// Parses one or more YAML documents with the given reading of plain scalars, skipping empty
/// documents.
pub fn parse_documents_with(what: &str, text: &str, version: YamlVersion) -> Result<Vec<Value>> {
    match version {
        YamlVersion::V1_2 => crate::documents::parse_documents_1_2(what, text),
        YamlVersion::V1_1 => {
            let mut b = Builder::default();
            Parser::new_from_str(text)
                .load(&mut b, true)
                .map_err(|source| Error::Yaml {
                    what: what.into(),
                    source,
                })?;
            Ok(b.docs)
        }
    }
}

/// A value under construction: a list, or a map with the key waiting for its value.
enum Frame {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<(String, bool)>, usize),
}

/// Builds JSON values from parser events, resolving plain scalars as YAML 1.1.
#[derive(Default)]
struct Builder {
    docs: Vec<Value>,
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, Value>,
}

impl Builder {
    fn complete(&mut self, v: Value, anchor: usize, merge: bool) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => *pending = Some((key_string(&v), merge)),
                Some((_, true)) => merge_into(map, v),
                Some((key, false)) => {
                    map.insert(key, v);
                }
            },
        }
    }
}

/// yaml.v2's `<<` merge key: the merged maps' keys, unless the map sets them itself.
fn merge_into(map: &mut Map<String, Value>, v: Value) {
    match v {
        Value::Object(m) => {
            for (k, e) in m {
                map.entry(k).or_insert(e);
            }
        }
        Value::Array(a) => a.into_iter().for_each(|e| merge_into(map, e)),
        _ => {}
    }
}

/// A map key as `sigs.k8s.io/yaml` turns it into a JSON key (`true`, `10`, `1.5`).
fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => crate::value::go_sprint(Some(&Value::Number(n.clone()))).into_owned(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::DocumentStart => self.root = None,
            Event::DocumentEnd => {
                if let Some(v) = self.root.take().filter(|v| !v.is_null()) {
                    self.docs.push(v);
                }
                self.anchors.clear();
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.complete(v, 0, false);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain;
                let merge = plain && text == "<<";
                let v = match tag {
                    Some(t) if t.suffix == "str" => Value::String(text),
                    _ if plain => resolve_plain_1_1(&text),
                    _ => Value::String(text),
                };
                self.complete(v, anchor, merge);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(Map::new(), None, anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(items, a)) => (Value::Array(items), a),
                    Some(Frame::Map(map, _, a)) => (Value::Object(map), a),
                    None => return,
                };
                self.complete(v, anchor, false);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

/// A plain scalar that reads differently under YAML 1.1 and 1.2, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Ambiguous {
    /// The scalar as written.
    pub text: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Its YAML 1.1 reading (kubectl, Istio).
    pub v1_1: Value,
    /// Its YAML 1.2 reading.
    pub v1_2: Value,
    /// When the scalar is inside a string value that Istio re-parses as YAML (`"a: yes"`),
    /// that string; `line` and `column` are then the string's.
    pub within: Option<String>,
}

/// Every plain scalar in `text` whose YAML 1.1 and 1.2 readings differ.
pub fn ambiguous_scalars(what: &str, text: &str) -> Result<Vec<Ambiguous>> {
    #[derive(Default)]
    struct Finder(Vec<Ambiguous>);
    impl MarkedEventReceiver for Finder {
        fn on_event(&mut self, ev: Event, mark: Marker) {
            let Event::Scalar(text, style, _, tag) = ev else {
                return;
            };
            if crate::value::reparsed_as_yaml(&text) {
                // Istio re-parses this string with yaml.v2: its own plain scalars count too.
                if let Ok(inner) = ambiguous_scalars("value", &text) {
                    self.0.extend(inner.into_iter().map(|a| Ambiguous {
                        line: mark.line(),
                        column: mark.col() + 1,
                        within: Some(text.clone()),
                        ..a
                    }));
                }
                return;
            }
            if style != TScalarStyle::Plain || tag.is_some() {
                return;
            }
            let (v1_1, v1_2) = (resolve_plain_1_1(&text), resolve_plain_1_2(&text));
            if v1_1 != v1_2 {
                self.0.push(Ambiguous {
                    text,
                    line: mark.line(),
                    column: mark.col() + 1,
                    v1_1,
                    v1_2,
                    within: None,
                });
            }
        }
    }
    let mut f = Finder::default();
    Parser::new_from_str(text)
        .load(&mut f, true)
        .map_err(|source| Error::Yaml {
            what: what.into(),
            source,
        })?;
    Ok(f.0)
}

//! YAML 1.1 scalar resolution, rule by rule, as gopkg.in/yaml.v2's `resolve.go` (v2.4.0, and
//! its fork `go.yaml.in/yaml/v2` v2.4.4 that `sigs.k8s.io/yaml` v1.6.0 uses) resolves plain
//! scalars; each row was checked against that source (`resolveMapList`, `yamlStyleFloat`,
//! `strconv.ParseInt(plain, 0, 64)` after removing `_`, timestamps kept as text for
//! `interface{}` targets).

use istio_overlay::{
    YamlVersion, lint_yaml, parse_document, parse_documents_with, resolve_plain_1_1,
    resolve_plain_1_2, string_to_map,
};
use serde_json::{Value, json};

/// (plain scalar, YAML 1.1 value, rule).
fn table() -> Vec<(&'static str, Value, &'static str)> {
    let mut rows = Vec::new();
    for t in [
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
    ] {
        rows.push((t, json!(true), "resolveMapList true"));
    }
    for f in [
        "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
    ] {
        rows.push((f, json!(false), "resolveMapList false"));
    }
    for n in ["~", "null", "Null", "NULL"] {
        rows.push((n, Value::Null, "resolveMapList null"));
    }
    rows.extend([
        ("yES", json!("yES"), "mixed case is not in the map"),
        ("tRUE", json!("tRUE"), "mixed case is not in the map"),
        ("oN", json!("oN"), "mixed case is not in the map"),
        ("0x1F", json!(31), "ParseInt base 0: hex"),
        ("0X1f", json!(31), "ParseInt base 0: hex"),
        ("0o17", json!(15), "ParseInt base 0: 0o octal"),
        ("017", json!(15), "ParseInt base 0: leading-zero octal"),
        ("-017", json!(-15), "ParseInt base 0: signed octal"),
        ("0b101", json!(5), "ParseInt base 0: binary"),
        ("1_000", json!(1000), "underscores removed before ParseInt"),
        ("+12", json!(12), "ParseInt accepts a sign"),
        ("-0x10", json!(-16), "ParseInt: signed hex"),
        ("0", json!(0), "decimal zero"),
        (
            "08",
            json!(8.0),
            "not octal, so yamlStyleFloat: the float 8",
        ),
        ("1_0.5", json!(10.5), "underscores removed before the float"),
        ("1e3", json!(1000.0), "yamlStyleFloat with exponent"),
        ("1.", json!(1.0), "yamlStyleFloat: digits and a dot"),
        (".5", json!(0.5), "leading dot: ParseFloat"),
        ("-.5", json!(-0.5), "sign then dot: yamlStyleFloat"),
        (
            "18446744073709551615",
            json!(18446744073709551615u64),
            "ParseUint",
        ),
        ("99999999999999999999", json!(1e20), "beyond uint64: float"),
        ("190:20:30", json!("190:20:30"), "no sexagesimal in yaml.v2"),
        (
            "2001-12-14",
            json!("2001-12-14"),
            "timestamp: text for interface{}",
        ),
        (
            ".inf",
            json!(".inf"),
            "float infinity: JSON cannot hold it, kept as text",
        ),
        (
            ".nan",
            json!(".nan"),
            "NaN: JSON cannot hold it, kept as text",
        ),
        ("0x", json!("0x"), "no digits after the prefix"),
        ("1.2.3", json!("1.2.3"), "not a number"),
        ("abc", json!("abc"), "a string"),
    ]);
    // A sign alone (not a document on its own: `v: -` starts a list).
    assert_eq!(resolve_plain_1_1("+"), json!("+"));
    rows
}

#[test]
fn yaml_1_1_table_rule_by_rule() {
    for (text, want, rule) in table() {
        assert_eq!(resolve_plain_1_1(text), want, "`{text}` ({rule})");
        // The same scalar as a map value in a document.
        let doc = parse_document("t", &format!("v: {text}\n")).expect("parses");
        assert_eq!(doc["v"], want, "`v: {text}` ({rule})");
    }
}

#[test]
fn quoted_and_block_scalars_never_change_type() {
    for (text, _, rule) in table() {
        let doc = parse_document(
            "t",
            &format!("a: '{text}'\nb: \"{text}\"\nc: |-\n  {text}\n"),
        )
        .expect("parses");
        assert_eq!(doc, json!({"a": text, "b": text, "c": text}), "{rule}");
    }
    let doc = parse_document("t", "a: !!str yes\n").expect("parses");
    assert_eq!(doc["a"], "yes");
}

#[test]
fn keys_are_resolved_then_printed_as_json_keys() {
    // sigs.k8s.io/yaml: bool keys become "true"/"false", int keys their decimal digits.
    let doc = parse_document("t", "on: 1\nno: 2\n0x10: 3\nname: 4\n").expect("parses");
    assert_eq!(doc, json!({"true": 1, "false": 2, "16": 3, "name": 4}));
}

#[test]
fn yaml_1_2_reading_on_request() {
    let docs = parse_documents_with("t", "a: yes\nb: on\nc: 017\nd: true\n", YamlVersion::V1_2)
        .expect("parses");
    // serde_yaml keeps a leading-zero number as text.
    assert_eq!(
        docs[0],
        json!({"a": "yes", "b": "on", "c": "017", "d": true})
    );
    assert_eq!(resolve_plain_1_2("y"), json!("y"));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let doc = parse_document(
        "t",
        "base: &b {x: 1, w: yes}\nm:\n  <<: *b\n  x: 2\nl: [*b]\n",
    )
    .expect("parses");
    assert_eq!(
        doc,
        json!({"base": {"x": 1, "w": true}, "m": {"x": 2, "w": true}, "l": [{"x": 1, "w": true}]})
    );
}

#[test]
fn strings_istio_reparses_are_read_as_yaml_1_1() {
    let (v, reparsed) = string_to_map(json!("enabled: on"));
    assert!(reparsed);
    assert_eq!(v, json!({"enabled": true}));
    let (v, _) = string_to_map(json!("mode: '0644'\nbits: 0644"));
    assert_eq!(v, json!({"mode": "0644", "bits": 420}));
}

#[test]
fn lint_warns_where_1_1_and_1_2_differ_with_the_quoted_rewrite() {
    let text = "- kind: Deployment\n  name: istiod\n  patches:\n  - path: a.b\n    value: yes\n  - path: a.c\n    value: 'yes'\n  - path: a.d\n    value: \"x: off\"\n  - path: a.e\n    value: true\n";
    let findings = lint_yaml("o.yaml", text).expect("parses");
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.code, f.location.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("yaml-1-1-differs", "o.yaml:5:12"),
            ("yaml-1-1-differs", "o.yaml:9:12")
        ]
    );
    assert!(
        findings[0].message.contains("write \"yes\""),
        "{}",
        findings[0].message
    );
    assert!(
        findings[1].message.contains("re-parses"),
        "{}",
        findings[1].message
    );
}

#[test]
fn output_reads_back_the_same_under_1_1_and_1_2() {
    let mut strings: Vec<String> = table().into_iter().map(|(t, _, _)| t.to_string()).collect();
    strings.extend(
        [
            "--tlsCertFile=/etc/cert-manager/tls/tls.crt",
            "a: b",
            "line one\nline two",
            "two\nlines\n",
            "  indented\nblock",
            "",
            "#comment",
        ]
        .map(String::from),
    );
    let v = json!({"s": strings, "yes": {"on": strings}, "n": [1, 2.5, true, null, {}, []]});
    let text = istio_overlay::to_yaml(&v);
    for version in [YamlVersion::V1_1, YamlVersion::V1_2] {
        let back = parse_documents_with("out", &text, version).expect("parses");
        assert_eq!(back[0], v, "{version:?}\n{text}");
    }
}

//! Values as Istio's operator sees them: `google.protobuf.Value` typing of patch values, the
//! string-that-is-YAML rule, and Go's `fmt.Sprint` used by selectors.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// Types a patch value as Istio's `structpb.Value` does before writing it.
///
/// Every number is a float64 in structpb. Istio then prints the patched object with yaml.v2,
/// which writes an integral float below 1e6 as an integer (`420`) and any other number in
/// float form (`1e+06`, `0.5`). So an integral number below 1e6 stays an integer, and any
/// other number becomes a float (a large integer also loses precision beyond 2^53).
pub fn structpb_value(v: &Value) -> Value {
    // A plain copy (maps copied without rehashing their keys), then numbers fixed in place.
    let mut out = v.clone();
    structpb_in_place(&mut out);
    out
}

/// [`structpb_value`] typing applied to `v` in place.
pub(crate) fn structpb_in_place(v: &mut Value) {
    match v {
        // Most numbers are small integers, which keep their type.
        Value::Number(n) if n.as_i64().is_some_and(|i| i.unsigned_abs() < 1_000_000) => {}
        Value::Number(n) => {
            let typed = structpb_number(n);
            if typed != *n {
                *n = typed;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(structpb_in_place),
        Value::Object(m) => m.values_mut().for_each(structpb_in_place),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

fn structpb_number(n: &Number) -> Number {
    let Some(f) = n.as_f64() else {
        return n.clone();
    };
    if f.fract() == 0.0 && f.abs() < 1e6 {
        // Exact: |f| < 1e6 fits an i64.
        #[allow(clippy::cast_possible_truncation)]
        Number::from(f as i64)
    } else {
        Number::from_f64(f).unwrap_or_else(|| n.clone())
    }
}

/// Whether a number would change under [`structpb_value`] typing (1e6 and beyond, or not an
/// integer when it was written as one).
pub(crate) fn number_changes_type(n: &Number) -> bool {
    (n.is_i64() || n.is_u64()) && n.as_f64().is_some_and(|f| f.abs() >= 1e6)
}

/// Istio's `tryToUnmarshalStringToYAML`: a string value holding `key: value` YAML (one line
/// containing `": "`, or several lines containing `:`) that parses as a YAML map, and is not a
/// JSON object, is written as that map. Returns the value to write and whether it came from a
/// string.
pub fn string_to_map(mut v: Value) -> (Value, bool) {
    let became = string_to_map_in_place(&mut v);
    (v, became)
}

/// [`string_to_map`] on `v` in place: returns whether the string became a map.
pub(crate) fn string_to_map_in_place(v: &mut Value) -> bool {
    let Value::String(s) = v else {
        return false;
    };
    if !reparsed_as_yaml(s) {
        return false;
    }
    // Istio re-parses with yaml.v2: YAML 1.1 scalars (`a: yes` is `{"a": true}`).
    let parsed = crate::yaml::parse_documents_with("value", s, crate::yaml::YamlVersion::V1_1);
    match parsed {
        Ok(mut d) if d.len() == 1 && d[0].is_object() => {
            let mut m = d.swap_remove(0);
            structpb_in_place(&mut m);
            *v = m;
            true
        }
        // sigs.k8s.io/yaml leaves the target map empty for a null document, without error.
        Ok(d) if d.is_empty() => {
            *v = Value::Object(Map::new());
            true
        }
        _ => false,
    }
}

/// Whether Istio re-parses this string value as YAML: one line with `": "` or several lines
/// with `:`, and not a JSON object (which Istio keeps as a string).
pub(crate) fn reparsed_as_yaml(s: &str) -> bool {
    // Most values hold no colon at all: one scan tells.
    if !s.contains(':') {
        return false;
    }
    let multi = s.contains('\n');
    let candidate = (!multi && s.contains(": ")) || (multi && s.contains(':'));
    candidate && serde_json::from_str::<Map<String, Value>>(s).is_err()
}

/// Whether `v` holds a map anywhere (maps inserted by a patch are Go `map[string]interface{}`
/// to Istio, which changes how later patches write into them).
pub(crate) fn contains_map(v: &Value) -> bool {
    match v {
        Value::Object(_) => true,
        Value::Array(a) => a.iter().any(contains_map),
        _ => false,
    }
}

/// Whether Go's `fmt.Sprint` of `v` is `want` ([`go_sprint`] without building the text for
/// strings and integers).
pub(crate) fn sprint_eq(v: Option<&Value>, want: &str) -> bool {
    match v {
        Some(Value::String(s)) => crate::prepared::same_key(s, want),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            // An integer prints as its decimal digits: compare them in a stack buffer.
            let mut buf = Digits::default();
            match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => buf.push_u64(u, false),
                (None, Some(i)) => buf.push_u64(i.unsigned_abs(), i < 0),
                (None, None) => return go_sprint(v) == want,
            }
            buf.as_bytes() == want.as_bytes()
        }
        _ => go_sprint(v) == want,
    }
}

/// A stack buffer for the decimal digits of a 64-bit integer.
#[derive(Default)]
struct Digits {
    bytes: [u8; 24],
    len: usize,
}

impl Digits {
    /// The digits written, most significant first.
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(self.bytes.len() - self.len..).unwrap_or(&[])
    }

    /// Writes `u` in decimal (after a `-` when `negative`), filling the buffer from its end.
    fn push_u64(&mut self, mut u: u64, negative: bool) {
        let mut at = self.bytes.len();
        loop {
            at -= 1;
            // `u % 10` is a digit.
            #[allow(clippy::cast_possible_truncation)]
            let d = (u % 10) as u8;
            self.bytes[at] = b'0' + d;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if negative {
            at -= 1;
            self.bytes[at] = b'-';
        }
        self.len = self.bytes.len() - at;
    }
}

/// Go's `fmt.Sprint` of a decoded YAML/JSON value, as Istio's selectors compare it.
pub(crate) fn go_sprint(v: Option<&Value>) -> Cow<'_, str> {
    match v {
        None | Some(Value::Null) => Cow::Borrowed("<nil>"),
        Some(Value::String(s)) => Cow::Borrowed(s),
        Some(Value::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::Number(n)) => Cow::Owned(go_number(n)),
        Some(Value::Array(a)) => {
            let parts: Vec<_> = a.iter().map(|e| go_sprint(Some(e)).into_owned()).collect();
            Cow::Owned(format!("[{}]", parts.join(" ")))
        }
        Some(Value::Object(m)) => {
            let mut parts: Vec<_> = m
                .iter()
                .map(|(k, e)| format!("{k}:{}", go_sprint(Some(e))))
                .collect();
            parts.sort();
            Cow::Owned(format!("map[{}]", parts.join(" ")))
        }
    }
}

fn go_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    go_float(n.as_f64().unwrap_or_default())
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what `%v` prints for a float64).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Shortest round-trip digits, in scientific form: "-1.2345e8".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let nd = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
        return out;
    }
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(usize::try_from(-dp).unwrap_or(0)));
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        out.push_str(&"0".repeat(usize::try_from(dp - nd).unwrap_or(0)));
    } else {
        let dp = usize::try_from(dp).unwrap_or(0);
        out.push_str(&digits[..dp]);
        out.push('.');
        out.push_str(&digits[dp..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_compare_as_their_digits() {
        for (v, text) in [
            (json!(0), "0"),
            (json!(15010), "15010"),
            (json!(-7), "-7"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(u64::MAX), "18446744073709551615"),
        ] {
            assert!(sprint_eq(Some(&v), text), "{v}");
            assert!(!sprint_eq(Some(&v), "1"), "{v}");
        }
    }

    #[test]
    fn go_float_matches_fmt_sprint() {
        for (f, want) in [
            (420.0, "420"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (123456789.0, "1.23456789e+08"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5, "-1.5"),
            (0.0, "0"),
            (15010.0, "15010"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn structpb_typing() {
        assert_eq!(structpb_value(&json!(420)), json!(420));
        assert_eq!(structpb_value(&json!(1000000)), json!(1000000.0));
        assert_eq!(
            structpb_value(&json!({"a": [1, 2.0]})),
            json!({"a": [1, 2]})
        );
    }

    #[test]
    fn strings_that_become_maps() {
        assert_eq!(string_to_map(json!("a: b")), (json!({"a": "b"}), true));
        assert_eq!(string_to_map(json!("host:443")), (json!("host:443"), false));
        assert_eq!(
            string_to_map(json!("{\"a\": 1}")),
            (json!("{\"a\": 1}"), false)
        );
        assert_eq!(string_to_map(json!("{a: 1}")), (json!({"a": 1}), true));
        assert_eq!(
            string_to_map(json!("- a: b\n- c")),
            (json!("- a: b\n- c"), false)
        );
    }
}

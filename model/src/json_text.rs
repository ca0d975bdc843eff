//! Values as JSON text the way Python's `json` module writes it: non-ASCII escaped as
//! `\uXXXX` (surrogate pairs beyond the BMP), floats as `repr()` prints them, `NaN`/`Infinity`
//! for the non-finite ones, and no newline at the end. [`write_pretty`] is
//! `json.dump(obj, f, indent=2)` byte for byte (the JSON codec's layout); [`write_compact`] is
//! `json.dumps(obj, separators=(",", ":"))`, one line (what exports write).

use std::io::Write as _;

use crate::{CodecError, View};

/// Writes a document as `json.dump(obj, f, indent=2)` does; refuses a NaN whose bits are not
/// the one NaN JSON can spell, rather than change it.
///
/// ```
/// use sidecar_model::{json_text, View};
/// let mut out = Vec::new();
/// json_text::write_pretty(View::Float(1e-5), &mut out).unwrap();
/// assert_eq!(out, b"1e-05");
/// ```
pub fn write_pretty(document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    Writer::default().value(document, Some(0), out)
}

/// Writes a document on one line, without spaces, as
/// `json.dumps(obj, separators=(",", ":"))` does; refuses what [`write_pretty`] refuses.
///
/// ```
/// use sidecar_model::{json_text, Value};
/// let value = Value::Array(vec![Value::Int(1), Value::Float(f64::NAN)]);
/// let mut out = Vec::new();
/// json_text::write_compact(value.view(), &mut out).unwrap();
/// assert_eq!(out, b"[1,NaN]");
/// ```
pub fn write_compact(document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    Writer::default().value(document, None, out)
}

/// Writes a document as [`write_compact`] does, but strict JSON: every non-finite float (any
/// NaN, the infinities) as `null`. Returns how many were.
///
/// ```
/// use sidecar_model::{json_text, Value};
/// let value = Value::Array(vec![Value::Float(f64::INFINITY), Value::Float(0.5)]);
/// let mut out = Vec::new();
/// assert_eq!(json_text::write_compact_finite(value.view(), &mut out), 1);
/// assert_eq!(out, b"[null,0.5]");
/// ```
pub fn write_compact_finite(document: View<'_>, out: &mut Vec<u8>) -> u64 {
    let mut writer = Writer {
        finite: true,
        nulls: 0,
    };
    // Only a NaN's bits can be refused, and this writer writes no NaN.
    let _ = writer.value(document, None, out);
    writer.nulls
}

#[derive(Default)]
struct Writer {
    /// Non-finite floats as `null`, counted in `nulls`.
    finite: bool,
    nulls: u64,
}

impl Writer {
    /// `indent` is the depth in the pretty layout, `None` in the compact one.
    fn value(
        &mut self,
        value: View<'_>,
        indent: Option<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match value {
            View::Null => out.extend_from_slice(b"null"),
            View::Bool(true) => out.extend_from_slice(b"true"),
            View::Bool(false) => out.extend_from_slice(b"false"),
            View::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            View::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
            View::Float(x) if self.finite && !x.is_finite() => {
                self.nulls += 1;
                out.extend_from_slice(b"null");
            }
            View::Float(x) if x.is_nan() && x.to_bits() != f64::NAN.to_bits() => {
                return Err(CodecError::unrepresentable(
                    format!(
                        "a NaN with sign or payload bits ({:#018x}) has no JSON spelling",
                        x.to_bits()
                    ),
                    None,
                ));
            }
            View::Float(x) => write_float(x, out),
            View::Str(s) => write_string(s, out),
            View::Array(items) if items.is_empty() => out.extend_from_slice(b"[]"),
            View::Array(items) => {
                let inner = indent.map(|depth| depth + 1);
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    newline(inner, out);
                    self.value(item, inner, out)?;
                }
                newline(indent, out);
                out.push(b']');
            }
            View::Object(map) if map.is_empty() => out.extend_from_slice(b"{}"),
            View::Object(map) => {
                let inner = indent.map(|depth| depth + 1);
                out.push(b'{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    newline(inner, out);
                    write_string(key, out);
                    out.extend_from_slice(if indent.is_some() { b": " } else { b":" });
                    self.value(item, inner, out)?;
                }
                newline(indent, out);
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// A line break and the indent of `depth`; nothing in the compact layout.
fn newline(depth: Option<usize>, out: &mut Vec<u8>) {
    if let Some(depth) = depth {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    }
}

/// A string as Python's `ensure_ascii=True` encoder writes it, quotes included.
///
/// ```
/// let mut out = Vec::new();
/// sidecar_model::json_text::write_string("M\u{fc}ller", &mut out);
/// assert_eq!(out, br#""M\u00fcller""#);
/// ```
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push(b'"');
}

/// A float as Python's `repr()` prints it: the shortest digits that read back to the same bits
/// (ties to even, as ryu and Python's dtoa both choose), in positional notation when the
/// decimal exponent is in (-4, 16], scientific otherwise.
fn write_float(x: f64, out: &mut Vec<u8>) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    // Where ryu and repr() agree (both positional, from 1e-4 up to 1e16: embeddings, boxes,
    // confidences), ryu's text is the answer; the band below 1e-4 ryu still writes positional
    // and repr() does not, so smaller and larger values take the general way.
    if (1e-4..1e16).contains(&x.abs()) {
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
        return;
    }
    write_finite(x, out);
}

/// A finite float as `repr()` prints it, from its shortest digits.
fn write_finite(x: f64, out: &mut Vec<u8>) {
    let mut buffer = ryu::Buffer::new();
    if x.is_sign_negative() {
        out.push(b'-');
    }
    if x == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut digits = [0u8; 40];
    let (len, point) = shortest_digits(buffer.format_finite(x.abs()), &mut digits);
    let digits = &digits[..len];
    // The value is 0.d1d2… × 10^point.
    if -4 < point && point <= 16 {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-point) as usize, b'0');
            out.extend_from_slice(digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                out.extend_from_slice(digits);
                out.resize(out.len() + (point - digits.len()), b'0');
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..point]);
                out.push(b'.');
                out.extend_from_slice(&digits[point..]);
            }
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let exponent = point - 1;
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

/// Reads ryu's text for a positive finite float (`123.456`, `0.0001`, `1.5e-7`) into its
/// significant digits, stored in `digits`, and the position of the decimal point relative to
/// them: the value is 0.d1d2… × 10^point. Returns how many digits and the point.
fn shortest_digits(text: &str, digits: &mut [u8; 40]) -> (usize, i32) {
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let mut len = 0;
    let mut before_point = 0i32;
    let mut leading_zeros = 0i32;
    let mut in_fraction = false;
    for &b in mantissa.as_bytes() {
        if b == b'.' {
            in_fraction = true;
            continue;
        }
        if !in_fraction {
            before_point += 1;
        }
        if len == 0 && b == b'0' {
            leading_zeros += 1;
        } else if len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    (len, before_point - leading_zeros + exponent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Map, Value};

    fn float(x: f64) -> String {
        let mut out = Vec::new();
        write_float(x, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (4000.0, "4000.0"),
            (0.1, "0.1"),
            (0.30000000000000004, "0.30000000000000004"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-2.5e-10, "-2.5e-10"),
            (123.456, "123.456"),
            (0.9728009104728699, "0.9728009104728699"),
            (1.5e-5, "1.5e-05"),
            (0.00015, "0.00015"),
            (9999999999999998.0, "9999999999999998.0"),
            (-0.5, "-0.5"),
            (-1e-4, "-0.0001"),
            (2.3681411743164062, "2.3681411743164062"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, expected) in cases {
            assert_eq!(float(x), expected, "{x:e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ryus_text_is_reprs_where_it_is_used(
            mantissa in proptest::prelude::any::<u64>(),
            exponent in -14i64..=54,
            negative in proptest::prelude::any::<bool>(),
        ) {
            let bits = (mantissa & ((1 << 52) - 1)) | (((exponent + 1023) as u64) << 52);
            let x = if negative { -f64::from_bits(bits) } else { f64::from_bits(bits) };
            proptest::prop_assume!((1e-4..1e16).contains(&x.abs()));
            let mut general = Vec::new();
            write_finite(x, &mut general);
            proptest::prop_assert_eq!(float(x).into_bytes(), general);
        }
    }

    #[test]
    fn strings_escape_like_ensure_ascii() {
        let mut out = Vec::new();
        write_string(
            "tab\t \"q\" \\ \u{1f} \u{7f} M\u{fc}ller \u{1f3c0}",
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""tab\t \"q\" \\ \u001f \u007f M\u00fcller \ud83c\udfc0""#
        );
    }

    #[test]
    fn only_the_canonical_nan_is_written() {
        let payload = f64::from_bits(f64::NAN.to_bits() | 1);
        assert!(write_pretty(View::Float(payload), &mut Vec::new()).is_err());
        assert!(write_pretty(View::Float(-f64::NAN), &mut Vec::new()).is_err());
        assert!(write_pretty(View::Float(f64::NAN), &mut Vec::new()).is_ok());
    }

    #[test]
    fn compact_layout_matches_json_dumps_without_spaces() {
        let map: Map = [
            (
                "a".into(),
                Value::Array(vec![Value::Int(1), Value::Float(2.5)]),
            ),
            ("b".into(), Value::Object(Map::new())),
        ]
        .into_iter()
        .collect();
        let mut out = Vec::new();
        write_compact(Value::Object(map).view(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":[1,2.5],"b":{}}"#);
    }

    #[test]
    fn layout_matches_json_dump_indent_2() {
        let inner: Map = [("x".into(), Value::Array(vec![]))].into_iter().collect();
        let map: Map = [
            (
                "a".into(),
                Value::Array(vec![Value::Int(1), Value::Float(2.5)]),
            ),
            ("b".into(), Value::Object(inner)),
            ("c".into(), Value::Object(Map::new())),
        ]
        .into_iter()
        .collect();
        let mut out = Vec::new();
        write_pretty(Value::Object(map).view(), &mut out).unwrap();
        let expected =
            "{\n  \"a\": [\n    1,\n    2.5\n  ],\n  \"b\": {\n    \"x\": []\n  },\n  \"c\": {}\n}";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}

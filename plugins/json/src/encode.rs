//! The value model to JSON text exactly as Python's `json.dump(obj, f, indent=2)` writes it:
//! two-space indent, `", "`-free line ends, `": "` after keys, non-ASCII escaped as `\uXXXX`
//! (surrogate pairs beyond the BMP), floats as `repr()` prints them, `NaN`/`Infinity` for the
//! non-finite ones, and no newline at the end.

use std::io::Write as _;

use sidecar_engine::{CodecError, Value, MAX_DEPTH};

/// Writes `value`; refuses a NaN whose bits are not the one NaN JSON can spell, rather than
/// change it.
pub fn write_pretty(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    write_value(value, 0, out)
}

fn write_value(value: &Value, indent: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    debug_assert!(indent <= MAX_DEPTH, "decoders bound the depth");
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(x) if x.is_nan() && x.to_bits() != f64::NAN.to_bits() => {
            return Err(CodecError::unrepresentable(
                format!(
                    "a NaN with sign or payload bits ({:#018x}) has no JSON spelling",
                    x.to_bits()
                ),
                None,
            ));
        }
        Value::Float(x) => write_float(*x, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) if items.is_empty() => out.extend_from_slice(b"[]"),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(indent + 1, out);
                write_value(item, indent + 1, out)?;
            }
            newline(indent, out);
            out.push(b']');
        }
        Value::Object(map) if map.is_empty() => out.extend_from_slice(b"{}"),
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(indent + 1, out);
                write_string(key, out);
                out.extend_from_slice(b": ");
                write_value(item, indent + 1, out)?;
            }
            newline(indent, out);
            out.push(b'}');
        }
    }
    Ok(())
}

fn newline(indent: usize, out: &mut Vec<u8>) {
    out.push(b'\n');
    out.resize(out.len() + 2 * indent, b' ');
}

/// A string as Python's `ensure_ascii=True` encoder writes it.
fn write_string(s: &str, out: &mut Vec<u8>) {
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

/// A float as Python's `repr()` prints it: the shortest digits that read back to the same bits,
/// in positional notation when the decimal exponent is in (-4, 16], scientific otherwise.
fn write_float(x: f64, out: &mut Vec<u8>) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    // `{:e}` prints the shortest round-trip digits: "1.2345e-5", "0e0".
    let negative = x.is_sign_negative();
    let mut buf = [0u8; 40];
    let mut digits = [0u8; 24];
    let (mut n, mut exponent) = scientific(&mut buf, format_args!("{:e}", x.abs()), &mut digits);
    // Where two candidates of the shortest length are equally near (only possible at 16 or 17
    // digits), `repr` takes the even one; `{:e}` may not, but exact formatting rounds half to
    // even.
    if n >= 16 {
        (n, exponent) = scientific(
            &mut buf,
            format_args!("{:.*e}", n - 1, x.abs()),
            &mut digits,
        );
    }
    let digits = &digits[..n];
    // The value is 0.d1d2… × 10^point.
    let point = exponent + 1;
    if negative {
        out.push(b'-');
    }
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
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

/// Formats a non-negative float in `LowerExp` form into `buf`; returns how many significant
/// digits it put in `digits`, and the decimal exponent.
fn scientific(
    buf: &mut [u8; 40],
    args: std::fmt::Arguments<'_>,
    digits: &mut [u8; 24],
) -> (usize, i32) {
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = cursor.write_fmt(args);
        cursor.position() as usize
    };
    let text = std::str::from_utf8(&buf[..len]).expect("ASCII");
    let (mantissa, exponent) = text.split_once('e').expect("LowerExp has an exponent");
    let mut n = 0;
    for b in mantissa.bytes().filter(u8::is_ascii_digit) {
        digits[n] = b;
        n += 1;
    }
    (
        n,
        exponent.parse().expect("LowerExp exponent is an integer"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_engine::Map;

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
            (2.3681411743164062, "2.3681411743164062"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, expected) in cases {
            assert_eq!(float(x), expected, "{x:e}");
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
        assert!(write_pretty(&Value::Float(payload), &mut Vec::new()).is_err());
        assert!(write_pretty(&Value::Float(-f64::NAN), &mut Vec::new()).is_err());
        assert!(write_pretty(&Value::Float(f64::NAN), &mut Vec::new()).is_ok());
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
        write_pretty(&Value::Object(map), &mut out).unwrap();
        let expected =
            "{\n  \"a\": [\n    1,\n    2.5\n  ],\n  \"b\": {\n    \"x\": []\n  },\n  \"c\": {}\n}";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}

//! JSON text onto a [`Tape`], on jiter's pull parser.
//!
//! Numbers are taken as their source text. Integers are converted at once (keeping the full
//! `i64` and `u64` ranges); floats stay as text until read, after a cheap check that they
//! cannot overflow (the text is parsed only when that check cannot tell). A literal the model
//! cannot hold (an integer beyond 64 bits, a float that overflows to infinity) is refused
//! rather than changed.

use std::collections::HashSet;

use jiter::{Jiter, JiterError, Peek};
use sidecar_model::tape::{NodeId, OpenContainer, Tape};
use sidecar_model::{CodecError, Location, Warning, MAX_DEPTH};

/// Objects up to this size are checked for duplicate keys by a linear scan; larger ones hash.
const LINEAR_KEY_SCAN: usize = 32;

/// Reads a document onto `tape` (its float ranges point into `bytes`); returns the warnings.
pub fn read(bytes: &[u8], tape: &mut Tape) -> Result<Vec<Warning>, CodecError> {
    let mut reader = Reader {
        jiter: Jiter::new(bytes).with_allow_inf_nan(),
        data: bytes,
        tape,
        warnings: Vec::new(),
    };
    let peek = reader.jiter.peek().map_err(|e| syntax(bytes, e))?;
    let root = reader.value(peek, MAX_DEPTH).map_err(|e| *e)?;
    reader.jiter.finish().map_err(|e| syntax(bytes, e))?;
    reader.tape.finish(root);
    Ok(reader.warnings)
}

/// An error while reading, boxed: results pass through every level of the recursion, and a
/// small one stays in registers.
type Failure = Box<CodecError>;

struct Reader<'j, 't> {
    jiter: Jiter<'j>,
    data: &'j [u8],
    tape: &'t mut Tape,
    warnings: Vec<Warning>,
}

impl Reader<'_, '_> {
    fn value(&mut self, peek: Peek, depth: usize) -> Result<NodeId, Failure> {
        match peek {
            Peek::Null => {
                self.jiter.known_null().map_err(|e| syntax(self.data, e))?;
                Ok(self.tape.null()?)
            }
            Peek::True | Peek::False => {
                let b = self
                    .jiter
                    .known_bool(peek)
                    .map_err(|e| syntax(self.data, e))?;
                Ok(self.tape.bool(b)?)
            }
            Peek::String => {
                let s = self.jiter.known_str().map_err(|e| syntax(self.data, e))?;
                Ok(self.tape.string(s)?)
            }
            Peek::Array => self.array(depth),
            Peek::Object => self.object(depth),
            _ => self.number(peek),
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeId, Failure> {
        let depth = self.deeper(depth)?;
        let frame = self.tape.begin_array()?;
        let mut next = self.jiter.known_array().map_err(|e| syntax(self.data, e))?;
        while let Some(peek) = next {
            let item = self.value(peek, depth)?;
            self.tape.item(item);
            next = self.jiter.array_step().map_err(|e| syntax(self.data, e))?;
        }
        Ok(self.tape.end_array(frame)?)
    }

    fn object(&mut self, depth: usize) -> Result<NodeId, Failure> {
        let depth = self.deeper(depth)?;
        let frame = self.tape.begin_object()?;
        let mut seen: Option<HashSet<String>> = None;
        let mut key = self
            .jiter
            .known_object()
            .map_err(|e| syntax(self.data, e))?;
        while let Some(k) = key {
            self.tape.key(k)?;
            let key_at = self.jiter.current_index();
            if is_duplicate(self.tape, &frame, &mut seen) {
                let k = self.tape.last_key();
                self.warnings.push(Warning {
                    code: "duplicate-key",
                    message: format!("duplicate key {k:?} (every entry is kept, in order)"),
                    location: Some(location(self.data, key_at)),
                });
            }
            let peek = self.jiter.peek().map_err(|e| syntax(self.data, e))?;
            let value = self.value(peek, depth)?;
            self.tape.value_of_key(value);
            key = self.jiter.next_key().map_err(|e| syntax(self.data, e))?;
        }
        Ok(self.tape.end_object(frame)?)
    }

    fn number(&mut self, peek: Peek) -> Result<NodeId, Failure> {
        let start = self.jiter.current_index();
        let text = self
            .jiter
            .known_number_bytes(peek)
            .map_err(|e| syntax(self.data, e))?;
        let range = start..start + text.len();
        let non_standard = match text {
            b"NaN" => Some(f64::NAN),
            b"Infinity" => Some(f64::INFINITY),
            b"-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        };
        if let Some(x) = non_standard {
            let text = String::from_utf8_lossy(text).into_owned();
            self.warnings.push(Warning {
                code: "non-standard-number",
                message: format!("non-standard JSON number {text} (as Python writes it; kept)"),
                location: Some(location(self.data, start)),
            });
            return Ok(self.tape.float(x)?);
        }
        // jiter validated the grammar: `-`? digits (`.` digits)? ([eE] [+-]? digits)?, so the
        // text is a float exactly when the integer digits do not reach its end.
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        let integer_digits = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if integer_digits < digits.len() {
            if !surely_finite(digits, integer_digits) {
                let x: f64 = ascii(text).parse().map_err(|_| {
                    CodecError::malformed(
                        format!("invalid number {}", shorten(text)),
                        Some(location(self.data, start)),
                    )
                })?;
                if x.is_infinite() {
                    return Err(Box::new(CodecError::unrepresentable(
                        format!("number {} is too large for a 64-bit float", shorten(text)),
                        Some(location(self.data, start)),
                    )));
                }
            }
            return Ok(self.tape.float_text(range)?);
        }
        if let Ok(i) = ascii(text).parse::<i64>() {
            return Ok(self.tape.int(i)?);
        }
        if let Ok(u) = ascii(text).parse::<u64>() {
            return Ok(self.tape.uint(u)?);
        }
        Err(Box::new(CodecError::unrepresentable(
            format!(
                "integer {} does not fit in 64 bits and cannot be kept exactly",
                shorten(text)
            ),
            Some(location(self.data, start)),
        )))
    }

    fn deeper(&self, depth: usize) -> Result<usize, Failure> {
        depth.checked_sub(1).ok_or_else(|| {
            Box::new(CodecError::malformed(
                format!("nesting deeper than {MAX_DEPTH} levels"),
                Some(location(self.data, self.jiter.current_index())),
            ))
        })
    }
}

/// Whether the key just recorded repeats an earlier key of the object being built: a linear
/// scan for small objects, a set of the keys for large ones.
fn is_duplicate(tape: &Tape, frame: &OpenContainer, seen: &mut Option<HashSet<String>>) -> bool {
    let key = tape.last_key();
    if tape.pending_keys(frame) <= LINEAR_KEY_SCAN {
        return tape.has_key(frame, key);
    }
    let seen = seen.get_or_insert_with(|| tape.earlier_keys(frame).map(str::to_owned).collect());
    !seen.insert(key.to_owned())
}

/// The text of a number jiter validated: ASCII digits, sign, point and exponent.
fn ascii(text: &[u8]) -> &str {
    std::str::from_utf8(text).unwrap_or("")
}

/// Whether a valid float literal (its sign taken off: `digits`, of which the first
/// `integer_digits` are the integer part) is certainly below `f64::MAX` without parsing it:
/// its value is under 10^(integer digits + exponent), and 10^307 is finite.
fn surely_finite(digits: &[u8], integer_digits: usize) -> bool {
    // Of the bytes a valid literal holds, only `e` and `E` have bit 0x40 set: one OR over the
    // bytes, which the compiler vectorises, tells whether there is an exponent at all.
    let exponent = if digits.iter().fold(0, |all, b| all | b) & 0x40 == 0 {
        0
    } else {
        let Some(e) = digits.iter().position(|b| matches!(b, b'e' | b'E')) else {
            return false;
        };
        let exp = &digits[e + 1..];
        let (negative, exp) = match exp.first() {
            Some(b'-') => (true, &exp[1..]),
            Some(b'+') => (false, &exp[1..]),
            _ => (false, exp),
        };
        if exp.len() > 6 {
            return negative;
        }
        let value = ascii(exp).parse::<i64>().unwrap_or(i64::MAX / 2);
        if negative {
            -value
        } else {
            value
        }
    };
    integer_digits as i64 + exponent <= 307
}

/// The 1-based line and column (in bytes) of a byte index.
fn location(data: &[u8], index: usize) -> Location {
    let before = &data[..index.min(data.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Location::Line {
        line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
        column: 1 + before.len() - line_start,
    }
}

fn syntax(data: &[u8], error: JiterError) -> CodecError {
    CodecError::malformed(
        format!("invalid JSON: {}", error.error_type),
        Some(location(data, error.index)),
    )
}

/// A number's text for a message, cut short when it is huge.
fn shorten(text: &[u8]) -> String {
    const MAX: usize = 40;
    let text = ascii(text);
    if text.len() <= MAX {
        text.to_owned()
    } else {
        format!("{}… ({} digits)", &text[..MAX], text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_model::error::ErrorKind;
    use sidecar_model::{Decoded, Value};

    fn decode(bytes: &[u8]) -> Result<Decoded, CodecError> {
        let mut tape = Tape::default();
        let warnings = read(bytes, &mut tape)?;
        Ok(Decoded {
            value: tape.view(bytes).to_value(),
            warnings,
        })
    }

    fn value(text: &str) -> Value {
        decode(text.as_bytes()).unwrap().value
    }

    fn finite(text: &[u8]) -> bool {
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        surely_finite(
            digits,
            digits.iter().take_while(|b| b.is_ascii_digit()).count(),
        )
    }

    #[test]
    fn overflow_is_told_apart_from_large_finite_floats() {
        assert!(finite(b"1.5e300"));
        assert!(finite(b"-123.25e-400"));
        assert!(finite(b"0.12345678901234567"));
        assert!(finite(b"25E+3"));
        assert!(!finite(b"1e308"));
        assert!(!finite(b"-1.0E+308"));
        assert!(!finite(format!("{}.5", "9".repeat(308)).as_bytes()));
        let long = format!("[{}.0]", "9".repeat(300));
        assert!(
            matches!(value(&long), Value::Array(ref a) if matches!(a[0], Value::Float(x) if x > 9e299))
        );
        assert!(decode(format!("[{}.0]", "9".repeat(309)).as_bytes()).is_err());
        assert_eq!(value("[1e308]"), Value::Array(vec![Value::Float(1e308)]));
        assert_eq!(
            value("[1.7976931348623157e308]"),
            Value::Array(vec![Value::Float(f64::MAX)])
        );
        assert!(decode(b"[1.8e308]").is_err());
        assert!(decode(b"[1e99999999999]").is_err());
        assert_eq!(
            value("[1e-99999999999]"),
            Value::Array(vec![Value::Float(0.0)])
        );
    }

    #[test]
    fn integers_cover_both_64_bit_ranges_and_floats_stay_floats() {
        assert_eq!(value("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(value("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(value("18446744073709551615"), Value::UInt(u64::MAX));
        assert_eq!(value("25.0"), Value::Float(25.0));
        assert_eq!(value("-0.0"), Value::Float(-0.0));
        assert_eq!(value("5e-324"), Value::Float(5e-324));
    }

    #[test]
    fn beyond_64_bits_is_refused_with_its_place() {
        let err = decode(b"{\n  \"a\": 18446744073709551616\n}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unrepresentable);
        assert_eq!(err.location, Some(Location::Line { line: 2, column: 8 }));
        let err = decode(b"[-9223372036854775809]").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unrepresentable);
        let err = decode(b"[1e400]").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unrepresentable);
    }

    #[test]
    fn python_non_standard_numbers_are_kept_with_a_warning() {
        let decoded = decode(b"[NaN, Infinity, -Infinity]").unwrap();
        let Value::Array(items) = decoded.value else {
            panic!("not an array")
        };
        assert!(matches!(items[0], Value::Float(x) if x.is_nan()));
        assert_eq!(items[1], Value::Float(f64::INFINITY));
        assert_eq!(items[2], Value::Float(f64::NEG_INFINITY));
        assert_eq!(decoded.warnings.len(), 3);
        assert!(decoded
            .warnings
            .iter()
            .all(|w| w.code == "non-standard-number"));
    }

    #[test]
    fn duplicate_keys_are_kept_and_reported() {
        let decoded = decode(br#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        let Value::Object(map) = &decoded.value else {
            panic!("not an object")
        };
        assert_eq!(map.len(), 3);
        assert_eq!(decoded.warnings.len(), 1);
        assert_eq!(decoded.warnings[0].code, "duplicate-key");
    }

    #[test]
    fn duplicate_keys_in_large_objects_are_found_too() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\": {i},"));
        }
        text.push_str("\"k7\": 0}");
        let decoded = decode(text.as_bytes()).unwrap();
        assert_eq!(decoded.warnings.len(), 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = decode(deep.as_bytes()).unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err}");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(decode(ok.as_bytes()).is_ok());
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = decode(b"{\n  \"a\": tru\n}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Malformed);
        assert!(
            matches!(err.location, Some(Location::Line { line: 2, .. })),
            "{err}"
        );
    }

    #[test]
    fn invalid_utf8_in_a_string_is_an_error() {
        assert!(decode(b"[\"\xff\"]").is_err());
    }
}

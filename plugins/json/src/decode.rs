//! JSON text to the value model, on jiter's pull parser.
//!
//! Numbers are taken as their source text and converted here, so that integers keep the full
//! `i64` and `u64` ranges, floats are correctly rounded, and a literal that the model cannot
//! hold (an integer beyond 64 bits, a float that overflows to infinity) is refused rather
//! than changed.

use std::collections::HashSet;

use jiter::{Jiter, JiterError, Peek};
use sidecar_engine::{CodecError, Decoded, Location, Map, Value, Warning, MAX_DEPTH};

/// Objects up to this size are checked for duplicate keys by a linear scan; larger ones hash.
const LINEAR_KEY_SCAN: usize = 32;

pub fn decode(bytes: &[u8]) -> Result<Decoded, CodecError> {
    let mut reader = Reader {
        jiter: Jiter::new(bytes).with_allow_inf_nan(),
        data: bytes,
        warnings: Vec::new(),
    };
    let value = reader.document()?;
    Ok(Decoded {
        value,
        warnings: reader.warnings,
    })
}

struct Reader<'j> {
    jiter: Jiter<'j>,
    data: &'j [u8],
    warnings: Vec<Warning>,
}

impl<'j> Reader<'j> {
    fn document(&mut self) -> Result<Value, CodecError> {
        let peek = self.jiter.peek().map_err(|e| syntax(self.data, e))?;
        let value = self.value(peek, MAX_DEPTH)?;
        self.jiter.finish().map_err(|e| syntax(self.data, e))?;
        Ok(value)
    }

    fn value(&mut self, peek: Peek, depth: usize) -> Result<Value, CodecError> {
        match peek {
            Peek::Null => {
                self.jiter.known_null().map_err(|e| syntax(self.data, e))?;
                Ok(Value::Null)
            }
            Peek::True | Peek::False => {
                let b = self
                    .jiter
                    .known_bool(peek)
                    .map_err(|e| syntax(self.data, e))?;
                Ok(Value::Bool(b))
            }
            Peek::String => {
                let s = self.jiter.known_str().map_err(|e| syntax(self.data, e))?;
                Ok(Value::String(s.to_owned()))
            }
            Peek::Array => self.array(depth),
            Peek::Object => self.object(depth),
            _ => self.number(peek),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, CodecError> {
        let depth = self.deeper(depth)?;
        let mut items = Vec::new();
        let mut next = self.jiter.known_array().map_err(|e| syntax(self.data, e))?;
        while let Some(peek) = next {
            items.push(self.value(peek, depth)?);
            next = self.jiter.array_step().map_err(|e| syntax(self.data, e))?;
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, depth: usize) -> Result<Value, CodecError> {
        let depth = self.deeper(depth)?;
        let mut map = Map::new();
        let mut seen: Option<HashSet<String>> = None;
        let mut key = self
            .jiter
            .known_object()
            .map_err(|e| syntax(self.data, e))?
            .map(str::to_owned);
        while let Some(k) = key {
            let key_at = self.jiter.current_index();
            if self.is_duplicate(&map, &mut seen, &k) {
                let location = location(self.data, key_at);
                self.warnings.push(Warning {
                    code: "duplicate-key",
                    message: format!("duplicate key {k:?} (every entry is kept, in order)"),
                    location: Some(location),
                });
            }
            let peek = self.jiter.peek().map_err(|e| syntax(self.data, e))?;
            let value = self.value(peek, depth)?;
            map.push(k, value);
            key = self
                .jiter
                .next_key()
                .map_err(|e| syntax(self.data, e))?
                .map(str::to_owned);
        }
        Ok(Value::Object(map))
    }

    fn is_duplicate(&self, map: &Map, seen: &mut Option<HashSet<String>>, key: &str) -> bool {
        if map.len() < LINEAR_KEY_SCAN {
            return map.get(key).is_some();
        }
        let seen = seen.get_or_insert_with(|| map.iter().map(|(k, _)| k.to_owned()).collect());
        !seen.insert(key.to_owned())
    }

    fn number(&mut self, peek: Peek) -> Result<Value, CodecError> {
        let start = self.jiter.current_index();
        let text = self
            .jiter
            .known_number_bytes(peek)
            .map_err(|e| syntax(self.data, e))?;
        // jiter hands back the exact ASCII text of a valid JSON number (or NaN/Infinity).
        let text = std::str::from_utf8(text).expect("number text is ASCII");
        let non_standard = match text {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        };
        if let Some(x) = non_standard {
            let text = text.to_owned();
            let location = location(self.data, start);
            self.warnings.push(Warning {
                code: "non-standard-number",
                message: format!("non-standard JSON number {text} (as Python writes it; kept)"),
                location: Some(location),
            });
            return Ok(Value::Float(x));
        }
        if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            let x: f64 = text.parse().map_err(|_| {
                CodecError::malformed(
                    format!("invalid number {text}"),
                    Some(location(self.data, start)),
                )
            })?;
            if x.is_infinite() {
                return Err(CodecError::unrepresentable(
                    format!("number {} is too large for a 64-bit float", shorten(text)),
                    Some(location(self.data, start)),
                ));
            }
            return Ok(Value::Float(x));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::UInt(u));
        }
        Err(CodecError::unrepresentable(
            format!(
                "integer {} does not fit in 64 bits and cannot be kept exactly",
                shorten(text)
            ),
            Some(location(self.data, start)),
        ))
    }

    fn deeper(&self, depth: usize) -> Result<usize, CodecError> {
        depth.checked_sub(1).ok_or_else(|| {
            CodecError::malformed(
                format!("nesting deeper than {MAX_DEPTH} levels"),
                Some(location(self.data, self.jiter.current_index())),
            )
        })
    }
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
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.len() <= MAX {
        text.to_owned()
    } else {
        format!("{}… ({} digits)", &text[..MAX], text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_engine::codec::ErrorKind;

    fn value(text: &str) -> Value {
        decode(text.as_bytes()).unwrap().value
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

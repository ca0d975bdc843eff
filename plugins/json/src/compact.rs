//! A JSON file as one line: its text without the whitespace between tokens, for consumers that
//! want compact JSON (JSON Lines) of a document read from JSON. Strings, numbers and literals
//! are copied as the file writes them (what the file says, exactly, and much faster than
//! formatting the values again).

/// Appends `source`, a JSON text that parsed, without the white space outside its strings.
pub fn write(source: &[u8], out: &mut Vec<u8>) {
    out.reserve(source.len());
    // Tabs and carriage returns are rare; one look over the whole text says whether the spans
    // between strings need looking at for them.
    let rare_space = memchr::memchr2(b'\t', b'\r', source).is_some();
    let mut at = 0;
    while at < source.len() {
        // Up to the next string, newline or space: copied whole, or without its tabs and
        // carriage returns when the text has any.
        let next =
            memchr::memchr3(b'"', b'\n', b' ', &source[at..]).map_or(source.len(), |i| at + i);
        if rare_space {
            copy_without_rare_space(&source[at..next], out);
        } else {
            out.extend_from_slice(&source[at..next]);
        }
        at = next;
        match source.get(at) {
            Some(b'"') => {
                let end = string_end(source, at);
                out.extend_from_slice(&source[at..end]);
                at = end;
            }
            Some(_) => {
                while at < source.len() && is_space(source[at]) {
                    at += 1;
                }
            }
            None => {}
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn copy_without_rare_space(span: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr2(b'\t', b'\r', span).is_none() {
        out.extend_from_slice(span);
    } else {
        out.extend(span.iter().copied().filter(|&b| !is_space(b)));
    }
}

/// Where the string opening at `start` ends (after its closing quote).
fn string_end(source: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while let Some(i) = memchr::memchr2(b'"', b'\\', &source[at..]) {
        at += i;
        if source[at] == b'\\' {
            at += 2;
        } else {
            return at + 1;
        }
    }
    source.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compact(text: &str) -> String {
        let mut out = Vec::new();
        write(text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn white_space_goes_and_strings_stay() {
        assert_eq!(
            compact("{\n  \"a b\": [1, 2.50,\tNaN],\r\n  \"q\\\"\\\\ \": \"x \\n y\"\n}\n"),
            r#"{"a b":[1,2.50,NaN],"q\"\\ ":"x \n y"}"#
        );
        assert_eq!(compact("  \"\\\\\"  "), r#""\\""#);
    }

    proptest! {
        /// Python's json with indent=2 (and serde_json's pretty printer, the same layout): the
        /// compact text is the compact form of the same values.
        #[test]
        fn pretty_text_compacts_to_the_same_values(value in json_value()) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let compacted = compact(&pretty);
            prop_assert!(!compacted.contains('\n'));
            prop_assert_eq!(&compacted, &serde_json::to_string(&value).unwrap());
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| serde_json::json!(x)),
            "[ -~\\n\\t\"\\\\é\u{2028}]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[ -~\\n\"]{0,8}", inner), 0..6)
                    .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
            ]
        })
    }
}

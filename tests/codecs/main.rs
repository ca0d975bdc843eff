//! Codec tests across formats: lossless round trips of arbitrary value trees through every
//! pair of codecs, byte-exact JSON for files Python wrote, the JSONTestSuite parsing cases, and
//! hostile input (random bytes, truncation, flipped bits, deep nesting, huge lengths).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sidecar_binary::BinaryCodec;
use sidecar_engine::error::ErrorKind;
use sidecar_engine::frame::FrameSpec;
use sidecar_engine::{Codec, Map, Value, MAX_DEPTH};
use sidecar_json::JsonCodec;
use sidecar_legacy::LegacyCodec;
use sidecar_rkyv::RkyvCodec;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(path)
}

fn writers() -> [&'static dyn Codec; 3] {
    [&JsonCodec, &BinaryCodec, &RkyvCodec]
}

fn encode(codec: &dyn Codec, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    codec
        .encode(value.view(), &mut out)
        .unwrap_or_else(|e| panic!("{} encode: {e}", codec.name()));
    out
}

fn decode(codec: &dyn Codec, bytes: &[u8]) -> Value {
    codec
        .decode(bytes)
        .unwrap_or_else(|e| panic!("{} decode: {e}", codec.name()))
        .value
}

/// JSON can spell one NaN only; every other NaN becomes that one for JSON round trips.
fn json_safe(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else {
        x
    }
}

fn arb_value(floats: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        floats.clone().prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>())),
            // Embedding-like arrays: all floats, packed by the binary formats.
            prop::collection::vec(floats.clone(), 1..40)
                .prop_map(|xs| Value::Array(xs.into_iter().map(Value::Float).collect())),
            prop::collection::vec(any::<f32>(), 1..40).prop_map(|xs| {
                Value::Array(
                    xs.into_iter()
                        .map(|x| Value::Float(json_safe(x.into())))
                        .collect(),
                )
            }),
        ]
    })
}

fn json_floats() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<u64>().prop_map(|bits| json_safe(f64::from_bits(bits))),
        any::<f32>().prop_map(|x| json_safe(x.into())),
        Just(-0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
    .boxed()
}

fn any_floats() -> BoxedStrategy<f64> {
    any::<u64>().prop_map(f64::from_bits).boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_codec_pair_round_trips_exactly(value in arb_value(json_floats())) {
        for first in writers() {
            let once = decode(first, &encode(first, &value));
            prop_assert_eq!(&once, &value, "{} alone", first.name());
            for second in writers() {
                let twice = decode(second, &encode(second, &once));
                prop_assert_eq!(&twice, &value, "{} then {}", first.name(), second.name());
            }
        }
    }

    #[test]
    fn json_to_bin_to_rkyv_to_json_gives_the_same_bytes(value in arb_value(json_floats())) {
        let json = encode(&JsonCodec, &value);
        let bin = encode(&BinaryCodec, &decode(&JsonCodec, &json));
        let rkyv = encode(&RkyvCodec, &decode(&BinaryCodec, &bin));
        let back = encode(&JsonCodec, &decode(&RkyvCodec, &rkyv));
        prop_assert_eq!(json, back);
    }

    #[test]
    fn encoding_from_the_canonical_form_equals_encoding_the_value(value in arb_value(any_floats())) {
        let mut canonical = Vec::new();
        sidecar_engine::canonical::encode(value.view(), &mut canonical);
        for codec in writers() {
            // JSON refuses NaNs with a payload: both ways, with the same message.
            let mut from_canonical = Vec::new();
            let from_canonical = codec
                .encode_canonical(&canonical, &mut from_canonical)
                .map(|()| from_canonical)
                .map_err(|e| e.to_string());
            let mut direct = Vec::new();
            let direct = codec
                .encode(value.view(), &mut direct)
                .map(|()| direct)
                .map_err(|e| e.to_string());
            prop_assert_eq!(from_canonical, direct, "{}", codec.name());
        }
    }

    #[test]
    fn binary_formats_keep_every_nan_payload(value in arb_value(any_floats())) {
        for codec in [&BinaryCodec as &dyn Codec, &RkyvCodec] {
            prop_assert_eq!(&decode(codec, &encode(codec, &value)), &value);
        }
        let mut json = Vec::new();
        if let Err(e) = JsonCodec.encode(value.view(), &mut json) {
            // Refused, never changed.
            prop_assert_eq!(e.kind, ErrorKind::Unrepresentable);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for codec in [&JsonCodec as &dyn Codec, &BinaryCodec, &RkyvCodec, &LegacyCodec] {
            let _ = codec.decode(&bytes);
            let _ = codec.inspect(&bytes, &mut |_, _| {});
            let _ = codec.detect(&bytes, bytes.len() as u64);
        }
    }

    #[test]
    fn random_payloads_in_a_valid_frame_never_panic(
        payload in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        for (codec, frame) in [(&BinaryCodec as &dyn Codec, sidecar_binary::FRAME), (&RkyvCodec, sidecar_rkyv::FRAME)] {
            let bytes = framed(frame, &payload);
            let _ = codec.decode(&bytes);
            let _ = codec.inspect(&bytes, &mut |view, _| { let _ = format!("{view:?}"); });
        }
    }

    #[test]
    fn every_truncation_and_bit_flip_is_caught(value in arb_value(json_floats()), seed in any::<u64>()) {
        for codec in [&BinaryCodec as &dyn Codec, &RkyvCodec] {
            let bytes = encode(codec, &value);
            let cut = (seed as usize) % bytes.len();
            prop_assert!(codec.decode(&bytes[..cut]).is_err());
            let mut flipped = bytes.clone();
            let bit = (seed as usize / 7) % (bytes.len() * 8);
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(codec.decode(&flipped).is_err());
        }
    }
}

fn framed(frame: FrameSpec, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let start = frame.begin(&mut out);
    out.extend_from_slice(payload);
    frame.seal(&mut out, start);
    out
}

#[test]
fn python_written_json_comes_back_byte_for_byte() {
    let files = [
        "python/python_floats.json",
        "examples/20250920_153300.120.json",
        "examples/20250920_153302.480.json",
        "examples/20250920_153304.000.json",
        "examples/IMG_0042.json",
        "examples/game_detection.json",
    ];
    for file in files {
        let original = std::fs::read(data(file)).unwrap();
        let value = decode(&JsonCodec, &original);
        for via in writers() {
            let back = decode(via, &encode(via, &value));
            assert_eq!(back, value, "{file} via {}", via.name());
            let json = encode(&JsonCodec, &back);
            assert!(json == original, "{file} via {} changed bytes", via.name());
        }
    }
}

#[test]
fn edge_values_of_the_example_are_kept() {
    let value = decode(
        &JsonCodec,
        &std::fs::read(data("examples/20250920_153304.000.json")).unwrap(),
    );
    let extra = value.view().get("extra").unwrap();
    assert!(matches!(
        extra.get("file_hash"),
        Some(sidecar_engine::View::UInt(u64::MAX))
    ));
    assert!(matches!(
        extra.get("offset"),
        Some(sidecar_engine::View::Int(i64::MIN))
    ));
    assert!(
        matches!(extra.get("int_like_float"), Some(sidecar_engine::View::Float(x)) if x == 4000.0)
    );
    assert!(
        matches!(extra.get("neg_zero"), Some(sidecar_engine::View::Float(x)) if x.to_bits() == (-0.0f64).to_bits())
    );
    assert_eq!(
        extra.get("non_bmp").and_then(|v| v.as_str()),
        Some("\u{1f3c0}")
    );
}

#[test]
fn the_earlier_tools_files_read_as_their_json() {
    let bytes = std::fs::read(data("examples/20250101_000001.000.bin")).unwrap();
    let legacy = LegacyCodec.decode(&bytes).unwrap();
    assert_eq!(legacy.value, decode(&JsonCodec, &bytes[8..]));
    assert_eq!(legacy.warnings[0].code, "legacy-format");
    assert_eq!(
        LegacyCodec.detect(&bytes, bytes.len() as u64),
        sidecar_engine::Detection::Certain
    );
}

#[test]
fn binary_headers_are_distinct_and_versioned() {
    let value = decode(
        &JsonCodec,
        &std::fs::read(data("examples/20250920_153300.120.json")).unwrap(),
    );
    let bin = encode(&BinaryCodec, &value);
    let rkyv = encode(&RkyvCodec, &value);
    assert_eq!(&bin[..8], b"\x89ISB\r\n\x1a\n");
    assert_eq!(&rkyv[..8], b"\x89ISR\r\n\x1a\n");
    for bytes in [&bin, &rkyv] {
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
        let declared = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
        assert_eq!(declared as usize, bytes.len() - 32);
    }
    // Embeddings are packed as f32: far smaller than the JSON text.
    let json_len = std::fs::metadata(data("examples/20250920_153300.120.json"))
        .unwrap()
        .len();
    assert!(
        (bin.len() as u64) < json_len / 4,
        "bin {} json {json_len}",
        bin.len()
    );
}

/// Runs `f` on a thread with a big stack: building and dropping 100,000-deep trees on the
/// test's side needs it; the decoders under test run on ordinary stacks.
fn with_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn nested(depth: usize) -> Value {
    let mut value = Value::Null;
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

#[test]
fn deep_nesting_is_refused_by_every_decoder() {
    for depth in [MAX_DEPTH + 1, 100_000] {
        let encoded: Vec<(String, Vec<u8>)> = with_big_stack(move || {
            let value = nested(depth);
            let mut out = Vec::new();
            for codec in [&BinaryCodec as &dyn Codec, &RkyvCodec] {
                let mut bytes = Vec::new();
                codec.encode(value.view(), &mut bytes).unwrap();
                out.push((codec.name().to_owned(), bytes));
            }
            let json = "[".repeat(depth) + &"]".repeat(depth);
            out.push(("json".into(), json.into_bytes()));
            std::mem::forget(value);
            out
        });
        for (name, bytes) in encoded {
            let codec: &dyn Codec = match name.as_str() {
                "bin" => &BinaryCodec,
                "rkyv" => &RkyvCodec,
                _ => &JsonCodec,
            };
            let err = codec.decode(&bytes).expect_err("too deep");
            assert_eq!(err.kind, ErrorKind::Malformed, "{name} at {depth}: {err}");
            assert!(codec.inspect(&bytes, &mut |_, _| {}).is_err());
        }
    }
    for codec in writers() {
        let value = nested(MAX_DEPTH);
        assert_eq!(
            decode(codec, &encode(codec, &value)),
            value,
            "{}",
            codec.name()
        );
    }
}

/// JSONTestSuite files whose verdict differs from a strict parser's, on purpose.
const PYTHON_EXTENSIONS: &[&str] = &[
    "n_number_NaN.json",
    "n_number_infinity.json",
    "n_number_minus_infinity.json",
];

#[test]
fn json_test_suite_parsing_cases() {
    let dir = data("JSONTestSuite/test_parsing");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut implementation_defined = Vec::new();
    for name in &names {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let result = JsonCodec.decode(&bytes);
        if PYTHON_EXTENSIONS.contains(&name.as_str()) {
            let decoded = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                decoded
                    .warnings
                    .iter()
                    .any(|w| w.code == "non-standard-number"),
                "{name} is accepted for Python's sake but must be flagged"
            );
        } else if name.starts_with("y_") {
            let decoded = result.unwrap_or_else(|e| panic!("{name} must be accepted: {e}"));
            assert!(
                decoded.warnings.iter().all(|w| w.code == "duplicate-key"),
                "{name}: {:?}",
                decoded.warnings
            );
        } else if name.starts_with("n_") {
            assert!(result.is_err(), "{name} must be rejected");
        } else {
            implementation_defined.push(match result {
                Ok(_) => format!("{name}: accepted"),
                Err(e) => format!("{name}: rejected ({:?})", e.kind),
            });
        }
    }
    insta::assert_snapshot!(
        "json_test_suite_implementation_defined",
        implementation_defined.join("\n")
    );
}

//! Micro-benchmarks on realistic documents: decode, encode and validate (inspect plus the
//! default validators) per codec; format detection; and the cost of a call into a plugin
//! library against the same call on a built-in codec.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sidecar_binary::BinaryCodec;
use sidecar_engine::{Codec, FileContext, Registry, Value};
use sidecar_json::JsonCodec;
use sidecar_rkyv::RkyvCodec;
// Linked for its registrations: the default validators include `xmp`.
use sidecar_xmp as _;

fn example(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/examples")
            .join(name),
    )
    .unwrap()
}

/// The documents: three faces (53 KB of JSON) and none (3.5 KB).
fn documents() -> Vec<(&'static str, Value)> {
    [
        ("3-faces", "20250920_153300.120.json"),
        ("no-faces", "20250920_153302.480.json"),
    ]
    .into_iter()
    .map(|(label, file)| (label, JsonCodec.decode(&example(file)).unwrap().value))
    .collect()
}

fn codecs() -> [&'static dyn Codec; 3] {
    [&JsonCodec, &BinaryCodec, &RkyvCodec]
}

fn encode(codec: &dyn Codec, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    codec.encode(value.view(), &mut out).unwrap();
    out
}

fn decode_encode(c: &mut Criterion) {
    for (label, value) in documents() {
        let mut group = c.benchmark_group(format!("decode/{label}"));
        for codec in codecs() {
            let bytes = encode(codec, &value);
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function(BenchmarkId::from_parameter(codec.name()), |b| {
                b.iter(|| codec.decode(black_box(&bytes)).unwrap())
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("encode/{label}"));
        for codec in codecs() {
            let mut out = Vec::new();
            group.bench_function(BenchmarkId::from_parameter(codec.name()), |b| {
                b.iter(|| {
                    out.clear();
                    codec.encode(black_box(value.view()), &mut out).unwrap();
                })
            });
        }
        group.finish();
    }
}

fn validate(c: &mut Criterion) {
    let registry = Registry::builtin();
    let checks: Vec<_> = sidecar_validators::DEFAULT_VALIDATORS
        .iter()
        .map(|name| {
            registry
                .validator(name)
                .unwrap()
                .configure(&serde_json::json!({}), Path::new("."))
                .unwrap()
        })
        .collect();
    let file = FileContext {
        path: Path::new("x"),
        has_image: true,
        format: "x",
    };
    for (label, value) in documents() {
        let mut group = c.benchmark_group(format!("validate/{label}"));
        for codec in codecs() {
            let bytes = encode(codec, &value);
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function(BenchmarkId::from_parameter(codec.name()), |b| {
                let mut findings = Vec::new();
                b.iter(|| {
                    codec
                        .inspect(black_box(&bytes), &mut |view, _| {
                            for check in &checks {
                                check.check(view, &file, &mut findings);
                            }
                        })
                        .unwrap();
                    findings.clear();
                })
            });
        }
        group.finish();
    }
}

/// Reading JSON onto the tape (what validation and statistics do) against a strict syntax
/// check of the same bytes that keeps nothing: the in-memory form of the whole-process floor.
fn json_read_floor(c: &mut Criterion) {
    for (label, value) in documents() {
        let bytes = encode(&JsonCodec, &value);
        let mut group = c.benchmark_group(format!("json-read/{label}"));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("tape", |b| {
            b.iter(|| {
                JsonCodec
                    .inspect(black_box(&bytes), &mut |_, _| {})
                    .unwrap()
            })
        });
        group.bench_function("syntax-floor", |b| {
            b.iter(|| {
                serde_json::from_slice::<&serde_json::value::RawValue>(black_box(&bytes)).unwrap()
            })
        });
        group.finish();
    }
}

fn detection(c: &mut Criterion) {
    let registry = Registry::builtin();
    let value = &documents()[0].1;
    let mut group = c.benchmark_group("identify");
    for codec in codecs() {
        let bytes = encode(codec, value);
        let path = PathBuf::from(format!("IMG_0001.{}", codec.extensions()[0]));
        group.bench_function(BenchmarkId::from_parameter(codec.name()), |b| {
            b.iter(|| {
                registry
                    .identify(black_box(&path), &bytes[..64], bytes.len() as u64)
                    .unwrap()
                    .codec
                    .name()
                    .len()
            })
        });
    }
    group.finish();
}

/// The CBOR example plugin, loaded from the library the build left beside this benchmark.
fn plugin_call(c: &mut Criterion) {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let library =
        sidecar_plugin_host::load_library(&deps.join("libsidecar_plugin_cbor.so")).unwrap();
    let dynamic = library.codecs[0].clone();
    let native: &dyn Codec = &BinaryCodec;
    let head = [0u8; 64];
    let mut group = c.benchmark_group("plugin-call/detect");
    group.bench_function("built-in", |b| {
        b.iter(|| native.detect(black_box(&head), 64))
    });
    group.bench_function("dynamic", |b| {
        b.iter(|| dynamic.detect(black_box(&head), 64))
    });
    group.finish();
    let value = &documents()[1].1;
    let bytes = encode(dynamic.as_ref(), value);
    let mut group = c.benchmark_group("plugin-call/decode-no-faces");
    group.bench_function("dynamic-cbor", |b| {
        b.iter(|| dynamic.decode(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    decode_encode,
    validate,
    json_read_floor,
    detection,
    plugin_call
);
criterion_main!(benches);

//! The library's serde path against serde_json's: a program's own type deserialized from each
//! format (`image_sidecar::from_slice`) and from JSON by serde_json, on a realistic document.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::Deserialize;

/// The fields a training script reads of a face-detection sidecar.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Sidecar {
    face_detection: FaceDetection,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FaceDetection {
    faces: Vec<Face>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Face {
    face_id: u32,
    bbox: Bbox,
    confidence: f64,
    encoding: Vec<f32>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Bbox {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

fn typed(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/examples/20250920_153300.120.json");
    let json = std::fs::read(path).unwrap();
    let value = image_sidecar::read(&json).unwrap().value;
    let mut group = c.benchmark_group("typed/3-faces");
    group.throughput(Throughput::Elements(1));
    for format in ["json", "bin", "rkyv"] {
        let bytes = image_sidecar::write(value.view(), format).unwrap();
        group.bench_function(BenchmarkId::new("image_sidecar::from_slice", format), |b| {
            b.iter(|| image_sidecar::from_slice::<Sidecar>(black_box(&bytes)).unwrap())
        });
    }
    // serde_json refuses NaN; this document has none.
    group.bench_function(BenchmarkId::new("serde_json::from_slice", "json"), |b| {
        b.iter(|| serde_json::from_slice::<Sidecar>(black_box(&json)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, typed);
criterion_main!(benches);

//! `sidecar-corpus`: writes a deterministic tree shaped like a real photo collection, for
//! benchmarks and tests. The same `--seed` and options give the same bytes.
//!
//! The tree: game folders (`Game_01_153212-160200/`) of photos named `YYYYMMDD_HHMMSS.mmm.jpg`
//! (11-byte placeholders), each with a sidecar as a Python pipeline writes it (pretty JSON,
//! insertion order, `\u` escapes, float32 embeddings printed in full, 512 floats per face, `NaN`
//! in a small share), some images without a sidecar, some sidecars in the earlier tool's
//! length-prefixed layout, and a directory-level `game_detection.json` at the root.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use sidecar_engine::{Codec, Map, Value};
use sidecar_json::JsonCodec;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Write a deterministic, realistic tree of image sidecars"
)]
struct Args {
    /// Directory to create (must not exist or be empty)
    #[arg(long)]
    output: PathBuf,
    /// Number of photos (images; most get a sidecar)
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Seed of the random generator
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Photos per game folder
    #[arg(long, default_value_t = 250)]
    photos_per_game: usize,
    /// Share of photos without a sidecar
    #[arg(long, default_value_t = 0.03)]
    orphan_image_share: f64,
    /// Share of sidecars in the earlier tool's length-prefixed layout (`.bin`)
    #[arg(long, default_value_t = 0.02)]
    legacy_share: f64,
    /// Share of sidecars with a quality assessment holding `NaN`
    #[arg(long, default_value_t = 0.05)]
    nan_share: f64,
    /// Share of sidecars that are a quality assessment under a `data` wrapper
    #[arg(long, default_value_t = 0.1)]
    quality_share: f64,
    /// Most faces in one photo (sizes run from ~1 KB with none to ~16 KB per face)
    #[arg(long, default_value_t = 10)]
    max_faces: usize,
    /// Floats in each face's embedding (InsightFace writes 512; 128 with --max-faces 2 gives
    /// the ~10 KB shape of smaller collections)
    #[arg(long, default_value_t = 512)]
    embedding_len: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.output.exists() && std::fs::read_dir(&args.output)?.next().is_some() {
        anyhow::bail!("{} exists and is not empty", args.output.display());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut games = Vec::new();
    let mut written = Written::default();
    let games_count = args.count.div_ceil(args.photos_per_game.max(1));
    for game in 0..games_count {
        let first = game * args.photos_per_game;
        let photos = args.photos_per_game.min(args.count - first);
        games.push(write_game(&args, &mut rng, game, photos, &mut written)?);
    }
    let summary = object(vec![
        ("success", Value::Bool(true)),
        ("games", Value::Array(games)),
        (
            "summary",
            object(vec![
                ("total_games", int(games_count)),
                ("total_photos", int(args.count)),
            ]),
        ),
    ]);
    write_json(&args.output.join("game_detection.json"), &summary)?;
    println!(
        "{{\"photos\": {}, \"sidecars\": {}, \"legacy\": {}, \"orphan_images\": {}, \"bytes\": {}}}",
        args.count, written.sidecars, written.legacy, written.orphans, written.bytes
    );
    Ok(())
}

#[derive(Default)]
struct Written {
    sidecars: usize,
    legacy: usize,
    orphans: usize,
    bytes: u64,
}

fn write_game(
    args: &Args,
    rng: &mut ChaCha8Rng,
    game: usize,
    photos: usize,
    written: &mut Written,
) -> anyhow::Result<Value> {
    let start = 12 * 3600 + rng.random_range(0..6 * 3600);
    let end = start + photos as u32 * 7 + 60;
    let name = format!("Game_{:02}_{}-{}", game + 1, hms(start), hms(end));
    let dir = args.output.join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let day = 20250901 + (game % 28) as u32;
    let mut files = Vec::new();
    let mut clock_ms = u64::from(start) * 1000;
    for _ in 0..photos {
        clock_ms += rng.random_range(80..14_000);
        let stem = format!(
            "{day}_{}.{:03}",
            hms((clock_ms / 1000) as u32),
            clock_ms % 1000
        );
        let image = format!("{stem}.jpg");
        std::fs::write(dir.join(&image), b"\xff\xd8\xff\xe0JFIF\0\xff\xd9")?;
        files.push(Value::String(image.clone()));
        if rng.random_bool(args.orphan_image_share) {
            written.orphans += 1;
            continue;
        }
        let image_path = format!("/photos/{name}/{image}");
        let sidecar = sidecar(args, rng, &image_path);
        written.sidecars += 1;
        written.bytes += if rng.random_bool(args.legacy_share) && !has_nan(&sidecar) {
            written.legacy += 1;
            write_legacy(&dir.join(format!("{stem}.bin")), &sidecar)?
        } else {
            write_json(&dir.join(format!("{stem}.json")), &sidecar)?
        };
    }
    Ok(object(vec![
        ("game_id", int(game + 1)),
        ("folder", Value::String(name)),
        ("photo_count", int(photos)),
        ("photo_files", Value::Array(files)),
    ]))
}

fn hms(seconds: u32) -> String {
    let s = seconds % 86_400;
    format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map>(),
    )
}

fn int(n: usize) -> Value {
    Value::Int(n as i64)
}

fn ratio(rng: &mut ChaCha8Rng) -> Value {
    Value::Float(rng.random::<f64>())
}

fn timestamp(rng: &mut ChaCha8Rng) -> Value {
    Value::String(format!(
        "2025-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        rng.random_range(1..13),
        rng.random_range(1..29),
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60),
        rng.random_range(0..1_000_000)
    ))
}

const CLASSES: &[(&str, i64)] = &[
    ("person", 0),
    ("sports ball", 32),
    ("baseball bat", 34),
    ("baseball glove", 35),
    ("bench", 13),
    ("bottle", 39),
];

const PHOTOGRAPHERS: &[&str] = &[
    "Jörg Müller",
    "Zoë Brontë",
    "Søren Ødegård",
    "李明",
    "Ana 🏀",
];

fn sidecar(args: &Args, rng: &mut ChaCha8Rng, image_path: &str) -> Value {
    let faces_count = match rng.random_range(0..100) {
        0..35 => 0,
        35..80 => rng.random_range(1..4),
        _ => rng.random_range(4..=args.max_faces.max(4)),
    }
    .min(args.max_faces);
    let objects_count = rng.random_range(0..8);
    let quality = rng.random_bool(args.quality_share);
    let operation = if quality {
        "quality_assessment"
    } else if faces_count > 0 {
        "face_detection"
    } else {
        "yolov8"
    };
    let info = object(vec![
        ("operation_type", Value::String(operation.into())),
        ("created_at", timestamp(rng)),
        ("last_updated", timestamp(rng)),
        ("last_operation", Value::String("yolov8".into())),
        ("image_path", Value::String(image_path.into())),
        ("symlink_path", Value::String(image_path.into())),
        (
            "photographer",
            Value::String(PHOTOGRAPHERS[rng.random_range(0..PHOTOGRAPHERS.len())].into()),
        ),
        (
            "symlink_info",
            object(vec![
                ("symlink_path", Value::String(image_path.into())),
                ("target_path", Value::String(image_path.into())),
                ("is_symlink", Value::Bool(false)),
            ]),
        ),
    ]);
    let mut entries = vec![("sidecar_info", info)];
    if quality {
        entries.push(("data", quality_assessment(args, rng, image_path)));
        return object(entries);
    }
    let normal = Normal::new(0.0f32, 1.1).expect("valid normal");
    let faces: Vec<Value> = (0..faces_count)
        .map(|id| {
            let encoding = (0..args.embedding_len)
                .map(|_| Value::Float(f64::from(normal.sample(rng))))
                .collect();
            let landmarks = (0..5)
                .map(|_| Value::Array(vec![ratio(rng), ratio(rng)]))
                .collect();
            object(vec![
                ("face_id", int(id)),
                (
                    "bbox",
                    object(vec![
                        ("x", ratio(rng)),
                        ("y", ratio(rng)),
                        ("width", Value::Float(rng.random::<f64>() * 0.2)),
                        ("height", Value::Float(rng.random::<f64>() * 0.2)),
                    ]),
                ),
                ("confidence", Value::Float(0.5 + rng.random::<f64>() / 2.0)),
                ("landmarks", Value::Array(landmarks)),
                ("encoding", Value::Array(encoding)),
            ])
        })
        .collect();
    entries.push((
        "face_detection",
        object(vec![
            ("success", Value::Bool(true)),
            ("faces", Value::Array(faces)),
            (
                "metadata",
                object(vec![
                    ("image_path", Value::String(image_path.into())),
                    ("image_width", Value::Int(6000)),
                    ("image_height", Value::Int(4000)),
                    ("faces_found", int(faces_count)),
                    ("processing_time", Value::Float(rng.random::<f64>())),
                    ("extraction_timestamp", timestamp(rng)),
                    ("detector", Value::String("insightface".into())),
                    ("model_name", Value::String("buffalo_l".into())),
                    ("face_size_threshold", Value::Int(64)),
                    ("confidence_threshold", Value::Float(0.5)),
                ]),
            ),
        ]),
    ));
    let objects: Vec<Value> = (0..objects_count)
        .map(|id| {
            let (class, class_id) = CLASSES[rng.random_range(0..CLASSES.len())];
            let px = |rng: &mut ChaCha8Rng, max| Value::Int(rng.random_range(0..max));
            let pct = |rng: &mut ChaCha8Rng| Value::Float(rng.random::<f64>() * 100.0);
            object(vec![
                ("object_id", int(id)),
                ("class_name", Value::String(class.into())),
                ("class_id", Value::Int(class_id)),
                (
                    "coordinates_pixels",
                    object(vec![
                        ("x", px(rng, 6000)),
                        ("y", px(rng, 4000)),
                        ("width", px(rng, 2000)),
                        ("height", px(rng, 2000)),
                    ]),
                ),
                (
                    "coordinates_percent",
                    object(vec![
                        ("x", pct(rng)),
                        ("y", pct(rng)),
                        ("width", pct(rng)),
                        ("height", pct(rng)),
                    ]),
                ),
                ("confidence", Value::Float(0.5 + rng.random::<f64>() / 2.0)),
                ("detection_scale_factor", Value::Float(0.32)),
            ])
        })
        .collect();
    entries.push((
        "yolov8",
        object(vec![
            ("success", Value::Bool(true)),
            ("objects", Value::Array(objects)),
            (
                "metadata",
                object(vec![
                    ("image_path", Value::String(image_path.into())),
                    ("image_width", Value::Int(6000)),
                    ("image_height", Value::Int(4000)),
                    ("objects_found", int(objects_count)),
                    ("detection_time", Value::Float(rng.random::<f64>())),
                    ("model_path", Value::String("yolov8n.pt".into())),
                    ("border_padding_percentage", Value::Float(25.0)),
                    ("confidence_threshold", Value::Float(0.5)),
                    ("gpu_enabled", Value::Bool(true)),
                ]),
            ),
        ]),
    ));
    object(entries)
}

fn quality_assessment(args: &Args, rng: &mut ChaCha8Rng, image_path: &str) -> Value {
    let score =
        |rng: &mut ChaCha8Rng| Value::Float((rng.random::<f64>() * 10_000.0).round() / 10_000.0);
    let noise = if rng.random_bool(args.nan_share / args.quality_share.max(f64::MIN_POSITIVE)) {
        Value::Float(f64::NAN)
    } else {
        Value::Float(-40.0 - rng.random::<f64>() * 20.0)
    };
    object(vec![
        ("success", Value::Bool(true)),
        (
            "quality",
            object(vec![
                ("overall_score", score(rng)),
                ("sharpness", score(rng)),
                ("focus", score(rng)),
                ("exposure", score(rng)),
                ("composition", score(rng)),
                (
                    "grade",
                    Value::String(["A", "B", "C"][rng.random_range(0..3)].into()),
                ),
                ("recommendations", Value::Array(vec![])),
            ]),
        ),
        ("processing_time", Value::Float(rng.random::<f64>())),
        ("image_path", Value::String(image_path.into())),
        ("image_width", Value::Int(6000)),
        ("image_height", Value::Int(4000)),
        ("noise_floor_db", noise),
    ])
}

fn has_nan(value: &Value) -> bool {
    match value {
        Value::Float(x) => x.is_nan(),
        Value::Array(items) => items.iter().any(has_nan),
        Value::Object(map) => map.iter().any(|(_, v)| has_nan(v)),
        _ => false,
    }
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<u64> {
    let mut out = Vec::new();
    JsonCodec.encode(value.view(), &mut out)?;
    std::fs::write(path, &out).with_context(|| format!("write {}", path.display()))?;
    Ok(out.len() as u64)
}

/// The earlier tool's layout: u64 little-endian length, then compact JSON with sorted keys.
fn write_legacy(path: &Path, value: &Value) -> anyhow::Result<u64> {
    let json = serde_json::to_vec(&sorted(value))?;
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    std::fs::write(path, &out).with_context(|| format!("write {}", path.display()))?;
    Ok(out.len() as u64)
}

fn sorted(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        Value::Float(x) => (*x).into(),
        Value::String(s) => s.clone().into(),
        Value::Array(items) => items.iter().map(sorted).collect(),
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(k, _)| *k);
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), sorted(v)))
                    .collect(),
            )
        }
    }
}

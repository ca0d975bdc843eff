//! An example plugin library: sidecars as CBOR (RFC 8949), `.cbor`, display name `Cbor`.
//!
//! Files start with the self-describe tag (`d9 d9 f7`), so detection is certain. CBOR keeps
//! what the value model needs: integers apart from floats, 64-bit integers of either sign,
//! floats (written in the shortest width that keeps them exactly), text, arrays, and maps whose
//! keys keep their order. Copy this crate to start a codec plugin of your own.

use ciborium::value::{Integer, Value as Cbor};
use sidecar_plugin_api::{export_plugin, Detection, Map, SidecarCodec, Value};

/// CBOR's self-describe tag, written first so that a reader knows the format for certain.
const SELF_DESCRIBE: u64 = 55799;
const MAGIC: [u8; 3] = [0xd9, 0xd9, 0xf7];

pub struct CborCodec;

impl SidecarCodec for CborCodec {
    fn name(&self) -> &str {
        "cbor"
    }
    fn display_name(&self) -> &str {
        "Cbor"
    }
    fn extensions(&self) -> &[&str] {
        &["cbor"]
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn detect(&self, head: &[u8], _file_len: u64) -> Detection {
        if head.starts_with(&MAGIC) {
            Detection::Certain
        } else {
            Detection::No
        }
    }
    fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        let cbor: Cbor = ciborium::from_reader(bytes).map_err(|e| format!("invalid CBOR: {e}"))?;
        let cbor = match cbor {
            Cbor::Tag(SELF_DESCRIBE, inner) => *inner,
            other => other,
        };
        from_cbor(cbor)
    }
    fn encode(&self, value: &Value) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        ciborium::into_writer(
            &Cbor::Tag(SELF_DESCRIBE, Box::new(to_cbor(value))),
            &mut out,
        )
        .map_err(|e| format!("cannot write CBOR: {e}"))?;
        Ok(out)
    }
}

fn to_cbor(value: &Value) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Int(i) => Cbor::Integer((*i).into()),
        Value::UInt(u) => Cbor::Integer((*u).into()),
        Value::Float(x) => Cbor::Float(*x),
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(to_cbor).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.to_owned()), to_cbor(v)))
                .collect(),
        ),
    }
}

fn from_cbor(cbor: Cbor) -> Result<Value, String> {
    Ok(match cbor {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => integer(i)?,
        Cbor::Float(x) => Value::Float(x),
        Cbor::Text(s) => Value::String(s),
        Cbor::Array(items) => {
            Value::Array(items.into_iter().map(from_cbor).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let Cbor::Text(key) = key else {
                    return Err("map keys must be text".into());
                };
                map.push(key, from_cbor(value)?);
            }
            Value::Object(map)
        }
        Cbor::Bytes(_) => return Err("byte strings have no sidecar equivalent".into()),
        Cbor::Tag(tag, _) => return Err(format!("unsupported CBOR tag {tag}")),
        _ => return Err("unsupported CBOR value".into()),
    })
}

fn integer(i: Integer) -> Result<Value, String> {
    let wide = i128::from(i);
    if let Ok(i) = i64::try_from(wide) {
        Ok(Value::Int(i))
    } else if let Ok(u) = u64::try_from(wide) {
        Ok(Value::UInt(u))
    } else {
        Err(format!("integer {wide} does not fit in 64 bits"))
    }
}

export_plugin! {
    codecs: [CborCodec],
    validators: [],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_model() {
        let map: Map = [
            ("b".to_owned(), Value::UInt(u64::MAX)),
            (
                "a".to_owned(),
                Value::Array(vec![Value::Float(-0.0), Value::Float(25.0), Value::Int(25)]),
            ),
            ("".to_owned(), Value::Float(0.1)),
        ]
        .into_iter()
        .collect();
        let value = Value::Object(map);
        let bytes = CborCodec.encode(&value).unwrap();
        assert!(bytes.starts_with(&MAGIC));
        assert_eq!(CborCodec.decode(&bytes).unwrap(), value);
        sidecar_plugin_api::testing::round_trip(&CborCodec, &value).unwrap();
        sidecar_plugin_api::testing::decode_truncations(&CborCodec, &bytes).unwrap();
    }
}

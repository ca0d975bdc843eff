//! An example plugin library: sidecars as CBOR (RFC 8949), `.cbor`, display name `Cbor`.
//!
//! Files start with the self-describe tag (`d9 d9 f7`), so detection is certain. CBOR keeps
//! what the value model needs: integers apart from floats, 64-bit integers of either sign,
//! floats (written in the shortest width that keeps them exactly), text, arrays, and maps whose
//! keys keep their order. Copy this crate to start a codec plugin of your own.

use ciborium::value::{Integer, Value as Cbor};
use sidecar_plugin_api::{export_plugin, Codec, CodecError, Decoded, Detection, Map, Value, View};

/// CBOR's self-describe tag, written first so that a reader knows the format for certain.
const SELF_DESCRIBE: u64 = 55799;
const MAGIC: [u8; 3] = [0xd9, 0xd9, 0xf7];

pub struct CborCodec;

impl Codec for CborCodec {
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
    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        let malformed = |message: String| CodecError::malformed(message, None);
        let cbor: Cbor =
            ciborium::from_reader(bytes).map_err(|e| malformed(format!("invalid CBOR: {e}")))?;
        let cbor = match cbor {
            Cbor::Tag(SELF_DESCRIBE, inner) => *inner,
            other => other,
        };
        Ok(Decoded {
            value: from_cbor(cbor).map_err(malformed)?,
            warnings: Vec::new(),
        })
    }
    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        ciborium::into_writer(&Cbor::Tag(SELF_DESCRIBE, Box::new(to_cbor(document))), out)
            .map_err(|e| CodecError::unrepresentable(format!("cannot write CBOR: {e}"), None))
    }
}

fn to_cbor(view: View<'_>) -> Cbor {
    match view {
        View::Null => Cbor::Null,
        View::Bool(b) => Cbor::Bool(b),
        View::Int(i) => Cbor::Integer(i.into()),
        View::UInt(u) => Cbor::Integer(u.into()),
        View::Float(x) => Cbor::Float(x),
        View::Str(s) => Cbor::Text(s.to_owned()),
        View::Array(items) => Cbor::Array(items.iter().map(to_cbor).collect()),
        View::Object(map) => Cbor::Map(
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
        let mut bytes = Vec::new();
        CborCodec.encode(value.view(), &mut bytes).unwrap();
        assert!(bytes.starts_with(&MAGIC));
        assert_eq!(CborCodec.decode(&bytes).unwrap().value, value);
        sidecar_plugin_api::testing::round_trip(&CborCodec, &value).unwrap();
        sidecar_plugin_api::testing::decode_truncations(&CborCodec, &bytes).unwrap();
    }
}

//! The `legacy` codec: files written by the earlier image-sidecar-rust under `.bin` and `.rkyv`,
//! an 8-byte little-endian length followed by that many bytes of compact JSON, with no magic,
//! version or checksum. They are read so that `convert` can upgrade them, and never written.

use sidecar_json::JsonCodec;
use sidecar_model::error::Location;
use sidecar_model::{Codec, CodecError, CodecRegistration, Decoded, Detection, View, Warning};

const PREFIX_LEN: usize = 8;

/// The earlier tool's length-prefixed JSON layout.
pub struct LegacyCodec;

fn declared_len(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(..PREFIX_LEN)?.try_into().ok()?,
    ))
}

impl Codec for LegacyCodec {
    fn name(&self) -> &str {
        "legacy"
    }

    fn display_name(&self) -> &str {
        "Legacy"
    }

    fn extensions(&self) -> &[&str] {
        &["bin", "rkyv"]
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn detect(&self, head: &[u8], file_len: u64) -> Detection {
        let starts_json = matches!(head.get(PREFIX_LEN), Some(b'{') | Some(b'['));
        if starts_json && declared_len(head) == file_len.checked_sub(PREFIX_LEN as u64) {
            Detection::Certain
        } else {
            Detection::No
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        let declared = declared_len(bytes).ok_or_else(|| {
            CodecError::malformed(
                format!(
                    "truncated legacy file: {} bytes, the length prefix has 8",
                    bytes.len()
                ),
                Some(Location::Offset(bytes.len() as u64)),
            )
        })?;
        let actual = (bytes.len() - PREFIX_LEN) as u64;
        if declared != actual {
            return Err(CodecError::malformed(
                format!("legacy length prefix says {declared} bytes of JSON, {actual} follow"),
                Some(Location::Offset(0)),
            ));
        }
        let mut decoded = JsonCodec.decode(&bytes[PREFIX_LEN..]).map_err(|mut e| {
            e.message = format!("{} (in the JSON after the 8-byte length prefix)", e.message);
            e
        })?;
        decoded.warnings.insert(
            0,
            Warning {
                code: "legacy-format",
                message: "written by the earlier tool (length-prefixed JSON, no checksum); `convert` upgrades it".into(),
                location: None,
            },
        );
        Ok(decoded)
    }

    fn can_encode(&self) -> bool {
        false
    }

    fn encode(&self, _document: View<'_>, _out: &mut Vec<u8>) -> Result<(), CodecError> {
        Err(CodecError::unsupported(
            "the legacy layout is read for migration only and is never written",
        ))
    }
}

fn make() -> Box<dyn Codec> {
    Box::new(LegacyCodec)
}

inventory::submit! { CodecRegistration::new(make) }

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(json: &[u8]) -> Vec<u8> {
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json);
        bytes
    }

    #[test]
    fn reads_length_prefixed_json() {
        let bytes = legacy(br#"{"a":1}"#);
        assert_eq!(
            LegacyCodec.detect(&bytes, bytes.len() as u64),
            Detection::Certain
        );
        let decoded = LegacyCodec.decode(&bytes).unwrap();
        assert_eq!(decoded.warnings[0].code, "legacy-format");
    }

    #[test]
    fn a_wrong_prefix_is_not_legacy() {
        let mut bytes = legacy(br#"{"a":1}"#);
        bytes[0] += 1;
        assert_eq!(
            LegacyCodec.detect(&bytes, bytes.len() as u64),
            Detection::No
        );
        assert!(LegacyCodec.decode(&bytes).is_err());
        assert!(LegacyCodec.decode(&bytes[..5]).is_err());
    }

    #[test]
    fn is_never_written() {
        assert!(!LegacyCodec.can_encode());
        assert!(LegacyCodec.encode(View::Null, &mut Vec::new()).is_err());
    }
}

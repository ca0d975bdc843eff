//! The 32-byte header that frames every binary sidecar format, so that detection is certain and
//! truncation or a flipped bit is caught before a payload decoder sees the bytes.
//!
//! ```text
//! offset size field
//!  0      8   magic, distinct per format
//!  8      4   format version, u32 little-endian
//! 12      4   flags, u32 little-endian, must be 0
//! 16      8   payload length in bytes, u64 little-endian
//! 24      4   CRC-32 (IEEE) of the payload, u32 little-endian
//! 28      4   CRC-32 (IEEE) of header bytes 0..28, u32 little-endian
//! 32      …   payload
//! ```
//!
//! The payload starts 32 bytes in, so a file read into a 16-byte-aligned buffer has a
//! 16-byte-aligned payload (zero-copy formats need that).

use crate::error::{CodecError, Location};

/// Bytes of the frame's header: magic, version, flags, payload length and the two checksums.
pub const HEADER_LEN: usize = 32;

/// A binary format's identity in its header.
#[derive(Debug, Clone, Copy)]
pub struct FrameSpec {
    /// Eight bytes that start every file of the format.
    pub magic: [u8; 8],
    /// The payload layout version this build writes and reads.
    pub version: u32,
    /// Display name used in error messages.
    pub format: &'static str,
}

impl FrameSpec {
    /// Whether `head` starts with this format's magic bytes.
    pub fn matches(&self, head: &[u8]) -> bool {
        head.starts_with(&self.magic)
    }

    /// Appends a header placeholder to `out`; returns where the frame starts, for [`Self::seal`].
    pub fn begin(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        start
    }

    /// Fills in the header of the frame started at `start`, the payload being everything after it.
    pub fn seal(&self, out: &mut [u8], start: usize) {
        let (header, payload) = out[start..].split_at_mut(HEADER_LEN);
        header[0..8].copy_from_slice(&self.magic);
        header[8..12].copy_from_slice(&self.version.to_le_bytes());
        header[12..16].copy_from_slice(&0u32.to_le_bytes());
        header[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        header[24..28].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        let header_crc = crc32fast::hash(&header[0..28]);
        header[28..32].copy_from_slice(&header_crc.to_le_bytes());
    }

    /// Checks the header and the payload checksum; returns the payload.
    pub fn open<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], CodecError> {
        let format = self.format;
        let at = |offset: usize| Some(Location::Offset(offset as u64));
        if bytes.is_empty() {
            return Err(CodecError::malformed(
                format!("empty file: not a {format} file"),
                at(0),
            ));
        }
        if bytes.len() < HEADER_LEN {
            if !self.magic.starts_with(&bytes[..bytes.len().min(8)]) {
                return Err(CodecError::malformed(
                    format!("not a {format} file: magic bytes missing"),
                    at(0),
                ));
            }
            return Err(CodecError::malformed(
                format!(
                    "truncated {format} header: {} bytes, the header has {HEADER_LEN}",
                    bytes.len()
                ),
                at(bytes.len()),
            ));
        }
        if !self.matches(bytes) {
            return Err(CodecError::malformed(
                format!("not a {format} file: magic bytes missing"),
                at(0),
            ));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[0..28]) != u32_at(28) {
            return Err(CodecError::malformed(
                format!("{format} header checksum mismatch: the header is corrupted"),
                at(28),
            ));
        }
        let version = u32_at(8);
        if version != self.version {
            return Err(CodecError::malformed(
                format!(
                    "{format} format version {version} is not supported (this build reads version {})",
                    self.version
                ),
                at(8),
            ));
        }
        let flags = u32_at(12);
        if flags != 0 {
            return Err(CodecError::malformed(
                format!("unknown {format} header flags {flags:#x}"),
                at(12),
            ));
        }
        let declared = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let actual = (bytes.len() - HEADER_LEN) as u64;
        if declared > actual {
            return Err(CodecError::malformed(
                format!("truncated {format} file: the header declares {declared} payload bytes, {actual} are present"),
                at(bytes.len()),
            ));
        }
        if declared < actual {
            return Err(CodecError::malformed(
                format!(
                    "{} unexpected bytes after the {format} payload",
                    actual - declared
                ),
                at(HEADER_LEN + declared as usize),
            ));
        }
        let payload = &bytes[HEADER_LEN..];
        if crc32fast::hash(payload) != u32_at(24) {
            return Err(CodecError::malformed(
                format!("{format} payload checksum mismatch: the file is corrupted"),
                at(HEADER_LEN),
            ));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: FrameSpec = FrameSpec {
        magic: *b"\x89TEST\r\n\x1a",
        version: 1,
        format: "Test",
    };

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let start = SPEC.begin(&mut out);
        out.extend_from_slice(payload);
        SPEC.seal(&mut out, start);
        out
    }

    #[test]
    fn round_trip() {
        let bytes = framed(b"hello");
        assert_eq!(bytes.len(), HEADER_LEN + 5);
        assert_eq!(SPEC.open(&bytes).unwrap(), b"hello");
    }

    #[test]
    fn every_single_bit_flip_is_caught() {
        let bytes = framed(b"payload bytes");
        for i in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[i / 8] ^= 1 << (i % 8);
            assert!(SPEC.open(&flipped).is_err(), "bit {i} flip not caught");
        }
    }

    #[test]
    fn every_truncation_is_caught() {
        let bytes = framed(b"payload bytes");
        for len in 0..bytes.len() {
            assert!(
                SPEC.open(&bytes[..len]).is_err(),
                "truncation to {len} not caught"
            );
        }
    }

    #[test]
    fn a_huge_declared_length_is_an_error_not_an_allocation() {
        let mut bytes = framed(b"x");
        bytes[16..24].copy_from_slice(&(1u64 << 62).to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..28]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        let err = SPEC.open(&bytes).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
    }
}

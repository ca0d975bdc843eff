//! What the engine's unit tests share: a codec that claims files by extension or by magic
//! bytes and holds nothing.

use crate::codec::{Codec, Decoded, Detection};
use crate::error::CodecError;
use crate::value::{Value, View};

/// A codec known by its name and extensions, and by `magic` bytes or a leading `{` (`text`)
/// when set; every file decodes to null.
pub(crate) struct Fake {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
    pub magic: Option<&'static [u8]>,
    pub text: bool,
    pub writes: bool,
}

impl Fake {
    /// A writable format known by its extensions only.
    pub fn by_extension(name: &'static str, extensions: &'static [&'static str]) -> Fake {
        Fake {
            name,
            extensions,
            magic: None,
            text: false,
            writes: true,
        }
    }
}

impl Codec for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn display_name(&self) -> &str {
        self.name
    }
    fn extensions(&self) -> &[&str] {
        self.extensions
    }
    fn version(&self) -> &str {
        "0"
    }
    fn detect(&self, head: &[u8], _: u64) -> Detection {
        match self.magic {
            Some(m) if head.starts_with(m) => Detection::Certain,
            _ if self.text && head.first() == Some(&b'{') => Detection::Plausible,
            _ => Detection::No,
        }
    }
    fn decode(&self, _: &[u8]) -> Result<Decoded, CodecError> {
        Ok(Decoded {
            value: Value::Null,
            warnings: vec![],
        })
    }
    fn can_encode(&self) -> bool {
        self.writes
    }
    fn encode(&self, _: View<'_>, _: &mut Vec<u8>) -> Result<(), CodecError> {
        Ok(())
    }
}

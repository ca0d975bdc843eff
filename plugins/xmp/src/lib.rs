//! XMP sidecars, as a built-in plugin: the codec (`.xmp`, what darktable, Lightroom, digiKam,
//! Capture One and ExifTool write beside RAW files), the `xmp` validator and the `xmp`
//! summary. Other programs read XMP files, so converting away from XMP keeps them unless the
//! user asks otherwise. The mapping to the value model is specified in `docs/formats.md`.

mod read;
mod summary;
mod validator;
mod write;

use sidecar_model::{
    CodecError, CodecRegistration, Decoded, Detection, SummaryRegistration, ValidatorRegistration,
    View,
};

pub use read::read;
pub use write::write;

/// Namespaces the validator and the summary look properties up by.
pub mod ns {
    pub const XMP: &str = "http://ns.adobe.com/xap/1.0/";
    pub const DC: &str = "http://purl.org/dc/elements/1.1/";
    pub const PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
    pub const EXIF: &str = "http://ns.adobe.com/exif/1.0/";
    pub const LIGHTROOM: &str = "http://ns.adobe.com/lightroom/1.0/";
}

/// A property of an XMP document by namespace URI and local name, whatever prefix the file
/// gave the namespace.
pub fn property<'a>(document: View<'a>, namespace: &str, local: &str) -> Option<View<'a>> {
    let namespaces = document.get("@namespaces")?.as_object()?;
    namespaces
        .iter()
        .filter(|(_, uri)| uri.as_str() == Some(namespace))
        .find_map(|(prefix, _)| document.get(&format!("{prefix}:{local}")))
}

/// The XMP sidecar format.
pub struct XmpCodec;

impl sidecar_model::Codec for XmpCodec {
    fn name(&self) -> &str {
        "xmp"
    }
    fn display_name(&self) -> &str {
        "Xmp"
    }
    fn extensions(&self) -> &[&str] {
        &["xmp"]
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn detect(&self, head: &[u8], _file_len: u64) -> Detection {
        let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
        let start = head
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(head.len());
        let head = &head[start..];
        let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        if head.starts_with(b"<?xpacket")
            || head.starts_with(b"<x:xmpmeta")
            || head.starts_with(b"<x:xapmeta")
            || head.starts_with(b"<rdf:RDF")
            || (head.starts_with(b"<?xml") && (contains(b"<x:xmpmeta") || contains(b"<rdf:RDF")))
        {
            Detection::Certain
        } else if head.starts_with(b"<?xml") {
            Detection::Plausible
        } else {
            Detection::No
        }
    }
    fn decode(&self, bytes: &[u8]) -> Result<Decoded, CodecError> {
        Ok(Decoded {
            value: read(bytes)?,
            warnings: Vec::new(),
        })
    }
    fn encode(&self, document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        write(document, out)
    }
    fn read_by_other_programs(&self) -> bool {
        true
    }
}

inventory::submit! { CodecRegistration::new(|| Box::new(XmpCodec)) }
inventory::submit! { ValidatorRegistration::new(validator::make) }
inventory::submit! { SummaryRegistration::new(summary::make) }

#[cfg(test)]
mod tests;

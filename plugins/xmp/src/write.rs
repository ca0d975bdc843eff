//! Value → XMP packet: the inverse of `read`, for documents in the shape `read` produces (see
//! `docs/formats.md`). Anything else (numbers, booleans, null, plain arrays, unknown prefixes)
//! is refused with the place in the document, so a conversion into XMP either keeps every
//! value or does not happen.

use sidecar_model::{CodecError, Location, View};

use crate::read::{is_xml_char, META_NS, RDF_NS};

fn refuse(path: &str, message: impl std::fmt::Display) -> CodecError {
    CodecError::unrepresentable(
        format!("XMP cannot hold {path}: {message}"),
        Some(Location::Pointer(if path.is_empty() {
            "/".into()
        } else {
            path.into()
        })),
    )
}

/// Appends `text` escaped; refuses characters XML 1.0 cannot carry.
fn escape_into(out: &mut String, text: &str, attribute: bool) -> Result<(), char> {
    for c in text.chars() {
        match c {
            c if !is_xml_char(c) => return Err(c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            // Kept as written: attribute values would otherwise be normalised to spaces.
            '\t' if attribute => out.push_str("&#x9;"),
            '\n' if attribute => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    Ok(())
}

/// [`escape_into`], with the refusal placed at `path`.
fn escape_at(out: &mut String, text: &str, attribute: bool, path: &str) -> Result<(), CodecError> {
    escape_into(out, text, attribute).map_err(|c| {
        refuse(
            path,
            format!(
                "the character U+{:04X}, which XML cannot carry",
                u32::from(c)
            ),
        )
    })
}

fn pointer(parent: &str, key: &str) -> String {
    format!("{parent}/{}", key.replace('~', "~0").replace('/', "~1"))
}

struct Writer<'d> {
    out: String,
    prefixes: Vec<&'d str>,
}

impl<'d> Writer<'d> {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push(' ');
        }
    }

    fn check_name(&self, name: &str, path: &str) -> Result<(), CodecError> {
        let known = name.split_once(':').is_some_and(|(prefix, local)| {
            !local.is_empty() && !local.contains(':') && self.prefixes.contains(&prefix)
        });
        if known {
            Ok(())
        } else {
            Err(refuse(
                path,
                format!("`{name}` is not prefix:name with a prefix declared in @namespaces"),
            ))
        }
    }

    /// Writes `<name …>value</name>` at `depth`.
    fn property(
        &mut self,
        name: &str,
        value: View<'_>,
        depth: usize,
        path: &str,
    ) -> Result<(), CodecError> {
        match value {
            View::Str(text) => {
                self.indent(depth);
                self.out.push('<');
                self.out.push_str(name);
                self.out.push('>');
                escape_at(&mut self.out, text, false, path)?;
                self.out.push_str("</");
                self.out.push_str(name);
                self.out.push_str(">\n");
                Ok(())
            }
            View::Object(entries) => {
                let keys: Vec<&str> = entries.iter().map(|(k, _)| k).collect();
                match keys.as_slice() {
                    [kind @ ("@bag" | "@seq" | "@alt")] => {
                        let items =
                            entries.get(kind).and_then(View::as_array).ok_or_else(|| {
                                refuse(&pointer(path, kind), "an array's items are a list")
                            })?;
                        let tag = match *kind {
                            "@bag" => "rdf:Bag",
                            "@seq" => "rdf:Seq",
                            _ => "rdf:Alt",
                        };
                        self.indent(depth);
                        self.out.push_str(&format!("<{name}>\n"));
                        self.indent(depth + 1);
                        if items.is_empty() {
                            // Written as darktable writes it: whitespace inside would be read
                            // as a value by some readers.
                            self.out.push_str(&format!("<{tag}/>\n"));
                            self.indent(depth);
                            self.out.push_str(&format!("</{name}>\n"));
                            return Ok(());
                        }
                        self.out.push_str(&format!("<{tag}>\n"));
                        for (i, item) in items.iter().enumerate() {
                            self.property(
                                "rdf:li",
                                item,
                                depth + 2,
                                &format!("{}/{i}", pointer(path, kind)),
                            )?;
                        }
                        self.indent(depth + 1);
                        self.out.push_str(&format!("</{tag}>\n"));
                        self.indent(depth);
                        self.out.push_str(&format!("</{name}>\n"));
                        Ok(())
                    }
                    ["@lang", "@value"] => {
                        let (Some(lang), Some(text)) = (
                            entries.get("@lang").and_then(View::as_str),
                            entries.get("@value").and_then(View::as_str),
                        ) else {
                            return Err(refuse(path, "@lang and @value are text"));
                        };
                        self.indent(depth);
                        self.out.push_str(&format!("<{name} xml:lang=\""));
                        escape_at(&mut self.out, lang, true, path)?;
                        self.out.push_str("\">");
                        escape_at(&mut self.out, text, false, path)?;
                        self.out.push_str(&format!("</{name}>\n"));
                        Ok(())
                    }
                    ["@resource"] => {
                        let uri = entries
                            .get("@resource")
                            .and_then(View::as_str)
                            .ok_or_else(|| refuse(path, "@resource is text"))?;
                        self.indent(depth);
                        self.out.push_str(&format!("<{name} rdf:resource=\""));
                        escape_at(&mut self.out, uri, true, path)?;
                        self.out.push_str("\"/>\n");
                        Ok(())
                    }
                    _ => {
                        for (key, _) in entries.iter() {
                            self.check_name(key, &pointer(path, key))?;
                        }
                        self.indent(depth);
                        if entries.is_empty() {
                            self.out
                                .push_str(&format!("<{name} rdf:parseType=\"Resource\"/>\n"));
                            return Ok(());
                        }
                        self.out
                            .push_str(&format!("<{name} rdf:parseType=\"Resource\">\n"));
                        for (key, field) in entries.iter() {
                            self.property(key, field, depth + 1, &pointer(path, key))?;
                        }
                        self.indent(depth);
                        self.out.push_str(&format!("</{name}>\n"));
                        Ok(())
                    }
                }
            }
            View::Null => Err(refuse(path, "null")),
            View::Bool(_) => Err(refuse(path, "a boolean (XMP writes True/False as text)")),
            View::Int(_) | View::UInt(_) | View::Float(_) => {
                Err(refuse(path, "a number (XMP holds numbers as text)"))
            }
            View::Array(_) => Err(refuse(path, "a plain list (use {\"@seq\": [...]})")),
        }
    }
}

/// Writes a document as an XMP packet.
pub fn write(document: View<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let Some(entries) = document.as_object() else {
        return Err(refuse("", "a document that is not an object"));
    };
    let namespaces = match entries.get("@namespaces") {
        Some(View::Object(namespaces)) => namespaces,
        Some(_) => return Err(refuse("/@namespaces", "namespaces map prefixes to URIs")),
        None => {
            return Err(refuse(
                "",
                "a document without @namespaces (not read from XMP)",
            ))
        }
    };
    let mut writer = Writer {
        out: String::new(),
        prefixes: Vec::new(),
    };
    let mut declarations = String::new();
    for (prefix, uri) in namespaces.iter() {
        let Some(uri) = uri.as_str() else {
            return Err(refuse(
                &pointer("/@namespaces", prefix),
                "a namespace URI is text",
            ));
        };
        let valid = !prefix.is_empty()
            && !matches!(prefix, "x" | "rdf" | "xml" | "xmlns")
            && prefix
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid || writer.prefixes.contains(&prefix) {
            return Err(refuse(
                &pointer("/@namespaces", prefix),
                "not a usable prefix",
            ));
        }
        writer.prefixes.push(prefix);
        declarations.push_str(&format!("\n    xmlns:{prefix}=\""));
        escape_at(
            &mut declarations,
            uri,
            true,
            &pointer("/@namespaces", prefix),
        )?;
        declarations.push('"');
    }
    let text_of = |key: &str| -> Result<Option<&str>, CodecError> {
        match entries.get(key) {
            None => Ok(None),
            Some(View::Str(s)) => Ok(Some(s)),
            Some(_) => Err(refuse(&pointer("", key), "text expected")),
        }
    };
    let toolkit = text_of("@toolkit")?;
    let about = text_of("@about")?.unwrap_or("");

    writer
        .out
        .push_str("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
    writer
        .out
        .push_str(&format!("<x:xmpmeta xmlns:x=\"{META_NS}\""));
    if let Some(toolkit) = toolkit {
        writer.out.push_str(" x:xmptk=\"");
        escape_at(&mut writer.out, toolkit, true, "/@toolkit")?;
        writer.out.push('"');
    }
    writer.out.push_str(">\n");
    writer.out.push_str(&format!(
        " <rdf:RDF xmlns:rdf=\"{RDF_NS}\">\n  <rdf:Description rdf:about=\""
    ));
    escape_at(&mut writer.out, about, true, "/@about")?;
    writer.out.push('"');
    writer.out.push_str(&declarations);
    writer.out.push_str(">\n");
    for (key, value) in entries.iter() {
        match key {
            "@namespaces" | "@toolkit" | "@about" => continue,
            _ if key.starts_with('@') => {
                return Err(refuse(&pointer("", key), "an unknown @-key"));
            }
            _ => {
                let path = pointer("", key);
                writer.check_name(key, &path)?;
                writer.property(key, value, 3, &path)?;
            }
        }
    }
    writer
        .out
        .push_str("  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>\n");
    out.extend_from_slice(writer.out.as_bytes());
    Ok(())
}

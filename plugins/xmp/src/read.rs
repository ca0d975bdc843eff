//! XMP packet → value. The mapping is specified in `docs/formats.md` (section XMP): the
//! properties of every `rdf:Description`, in document order, under their qualified names;
//! simple values as strings; `rdf:Bag`, `rdf:Seq` and `rdf:Alt` as `{"@bag"|"@seq"|"@alt":
//! [items]}`; structures (`rdf:parseType="Resource"`, a nested `rdf:Description`, or property
//! attributes) as objects; `xml:lang` as `{"@lang": L, "@value": V}`; `rdf:resource` as
//! `{"@resource": URI}`; and the packet's namespaces, toolkit and `rdf:about` under `@`-keys.
//! Anything else RDF allows but XMP writers do not use is refused with its line and column,
//! never dropped.
//!
//! What ExifTool (the reference reader) reads is what the value holds: line ends and white
//! space in values are kept as written (ExifTool does not normalise them, so neither do we;
//! the writer escapes them so that every reader gets them back). Where XML readers disagree on
//! a packet, it is refused rather than read one way: a comment or processing instruction
//! inside a value (ExifTool keeps it as text, XML parsers drop it), one namespace under two
//! prefixes, and characters XML forbids (a NUL, say), which no writer could put back.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use sidecar_model::{CodecError, Location, Map, Value, MAX_DEPTH};

pub const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const META_NS: &str = "adobe:ns:meta/";

/// An element of the packet, with where it starts (byte offset).
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
    at: usize,
    /// Where a comment or processing instruction inside it is, if one is.
    markup_at: Option<usize>,
}

enum Node {
    Element(Element),
    Text(String),
}

/// Line and column (1-based, in characters) of a byte offset.
fn location(text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Location::Line { line, column }
}

struct Parser<'t> {
    text: &'t str,
}

impl<'t> Parser<'t> {
    fn error(&self, offset: usize, message: impl Into<String>) -> CodecError {
        CodecError::malformed(message, Some(location(self.text, offset)))
    }

    fn unsupported(&self, offset: usize, message: impl Into<String>) -> CodecError {
        CodecError::unrepresentable(message, Some(location(self.text, offset)))
    }

    fn element(&self, start: &BytesStart<'_>, at: usize) -> Result<Element, CodecError> {
        let name = start.name().as_ref().to_owned();
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute =
                attribute.map_err(|e| self.error(at, format!("bad attribute in <{name}>: {e}")))?;
            let key = attribute.key.as_ref().to_owned();
            // Entities resolved, white space kept as written (what ExifTool reads).
            let value = quick_xml::escape::unescape(&attribute.value)
                .map_err(|e| self.error(at, format!("bad value of {key} in <{name}>: {e}")))?
                .into_owned();
            if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
                return Err(self.error(
                    at,
                    format!(
                        "the value of {key} in <{name}> holds {}, which XML forbids",
                        described(c)
                    ),
                ));
            }
            attributes.push((key, value));
        }
        Ok(Element {
            name,
            attributes,
            children: Vec::new(),
            at,
            markup_at: None,
        })
    }

    /// The packet's root element, with everything below it.
    fn tree(&self) -> Result<Element, CodecError> {
        let mut reader = Reader::from_str(self.text);
        reader.config_mut().trim_text(false);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let at = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| {
                self.error(
                    reader.error_position() as usize,
                    format!("not well-formed XML: {e}"),
                )
            })?;
            let text = match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(
                            self.error(at, format!("nested deeper than {MAX_DEPTH} elements"))
                        );
                    }
                    stack.push(self.element(&start, at)?);
                    continue;
                }
                Event::Empty(start) => {
                    let element = self.element(&start, at)?;
                    self.attach(&mut stack, &mut root, element)?;
                    continue;
                }
                Event::End(_) => {
                    let element = stack
                        .pop()
                        .ok_or_else(|| self.error(at, "a closing tag without its opening tag"))?;
                    self.attach(&mut stack, &mut root, element)?;
                    continue;
                }
                Event::Text(text) => text.into_inner().into_owned(),
                Event::CData(data) => data.into_inner().into_owned(),
                Event::GeneralRef(reference) => {
                    if reference.is_char_ref() {
                        // quick-xml refuses references to characters XML forbids (`&#0;`).
                        reference
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .filter(|c| is_xml_char(*c))
                            .map(String::from)
                            .ok_or_else(|| {
                                self.error(
                                    at,
                                    format!("&{}; names a character XML forbids", &*reference),
                                )
                            })?
                    } else {
                        quick_xml::escape::resolve_predefined_entity(&reference)
                            .map(String::from)
                            .ok_or_else(|| {
                                self.error(at, format!("unknown entity &{};", &*reference))
                            })?
                    }
                }
                Event::DocType(_) => {
                    return Err(self.error(at, "a DOCTYPE has no place in an XMP packet"))
                }
                Event::Comment(_) | Event::PI(_) => {
                    if let Some(parent) = stack.last_mut() {
                        parent.markup_at.get_or_insert(at);
                    }
                    continue;
                }
                Event::Decl(_) => continue,
                Event::Eof => break,
            };
            match stack.last_mut() {
                Some(parent) => match parent.children.last_mut() {
                    Some(Node::Text(previous)) => previous.push_str(&text),
                    _ => parent.children.push(Node::Text(text)),
                },
                None if text.trim().is_empty() => {}
                None => return Err(self.error(at, "text outside the packet's root element")),
            }
        }
        if let Some(open) = stack.last() {
            return Err(self.error(
                open.at,
                format!("<{}> is never closed (truncated file?)", open.name),
            ));
        }
        root.ok_or_else(|| self.error(0, "no XML element: not an XMP packet"))
    }

    fn attach(
        &self,
        stack: &mut [Element],
        root: &mut Option<Element>,
        element: Element,
    ) -> Result<(), CodecError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None if root.is_none() => *root = Some(element),
            None => return Err(self.error(element.at, "a second root element")),
        }
        Ok(())
    }
}

fn elements(element: &Element) -> impl Iterator<Item = &Element> {
    element.children.iter().filter_map(|c| match c {
        Node::Element(e) => Some(e),
        Node::Text(_) => None,
    })
}

fn text(element: &Element) -> String {
    element
        .children
        .iter()
        .filter_map(|c| match c {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        })
        .collect()
}

fn attribute<'e>(element: &'e Element, name: &str) -> Option<&'e str> {
    element
        .attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Reads an XMP packet (UTF-8, with or without `<?xpacket?>`, `<x:xmpmeta>` or a bare
/// `<rdf:RDF>`).
pub fn read(bytes: &[u8]) -> Result<Value, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        CodecError::malformed(
            "XMP must be UTF-8; invalid bytes here",
            Some(location(valid, valid.len())),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        return Err(CodecError::malformed(
            format!(
                "{} is not allowed in XML: not an XMP packet, or a damaged one",
                described(c)
            ),
            Some(location(text, at)),
        ));
    }
    let parser = Parser { text };
    let root = parser.tree()?;
    let mut document = Map::new();
    let rdf = match root.name.as_str() {
        "x:xmpmeta" | "x:xapmeta" => {
            if let Some(toolkit) = attribute(&root, "x:xmptk") {
                document.push("@toolkit".into(), Value::String(toolkit.into()));
            }
            let mut rdf = elements(&root).filter(|e| e.name == "rdf:RDF");
            let first = rdf
                .next()
                .ok_or_else(|| parser.error(root.at, "<x:xmpmeta> holds no <rdf:RDF>"))?;
            if let Some(second) = rdf.next() {
                return Err(parser.unsupported(second.at, "a second <rdf:RDF> in one packet"));
            }
            first
        }
        "rdf:RDF" => &root,
        other => {
            return Err(parser.error(
                root.at,
                format!("the root element is <{other}>, not <x:xmpmeta> or <rdf:RDF>"),
            ))
        }
    };
    let mut namespaces = Map::new();
    collect_namespaces(&parser, &root, &mut namespaces)?;
    document.push("@namespaces".into(), Value::Object(namespaces));
    let mut about: Option<String> = None;
    let mut properties = Map::new();
    for description in elements(rdf) {
        if description.name != "rdf:Description" {
            return Err(parser.unsupported(
                description.at,
                format!(
                    "<{}> in <rdf:RDF>: XMP holds rdf:Description elements only",
                    description.name
                ),
            ));
        }
        if let Some(value) = attribute(description, "rdf:about").filter(|a| !a.is_empty()) {
            if about.as_deref().is_some_and(|a| a != value) {
                return Err(
                    parser.unsupported(description.at, "descriptions of two different resources")
                );
            }
            about = Some(value.to_owned());
        }
        fields(&parser, description, &mut properties)?;
    }
    if let Some(about) = about {
        document.push("@about".into(), Value::String(about));
    }
    for (key, value) in properties.iter() {
        document.push(key.to_owned(), value.clone());
    }
    Ok(Value::Object(document))
}

/// Every `xmlns:prefix` in the packet, in document order, except `x`, `rdf` and `xml`.
fn collect_namespaces(
    parser: &Parser<'_>,
    element: &Element,
    into: &mut Map,
) -> Result<(), CodecError> {
    for (key, uri) in &element.attributes {
        let Some(prefix) = key.strip_prefix("xmlns:") else {
            if key == "xmlns" {
                return Err(parser.unsupported(
                    element.at,
                    "a default namespace (xmlns=…); XMP names every namespace",
                ));
            }
            continue;
        };
        match prefix {
            "rdf" if uri == RDF_NS => continue,
            "x" if uri == META_NS => continue,
            "rdf" | "x" => {
                return Err(
                    parser.unsupported(element.at, format!("the prefix {prefix} bound to {uri}"))
                )
            }
            _ => {}
        }
        if let Some((other, _)) = into
            .iter()
            .find(|(p, u)| *p != prefix && matches!(u, Value::String(u) if u == uri))
        {
            return Err(parser.unsupported(
                element.at,
                format!("the namespace {uri} bound to two prefixes, {other} and {prefix}: readers may take their properties for one; give it one prefix"),
            ));
        }
        match into.get(prefix) {
            Some(Value::String(known)) if known == uri => {}
            Some(_) => {
                return Err(parser.unsupported(
                    element.at,
                    format!("the prefix {prefix} bound to two namespaces"),
                ))
            }
            None => into.push(prefix.to_owned(), Value::String(uri.clone())),
        }
    }
    for child in elements(element) {
        collect_namespaces(parser, child, into)?;
    }
    Ok(())
}

/// The property attributes and property elements of a description or a structure.
fn fields(parser: &Parser<'_>, element: &Element, into: &mut Map) -> Result<(), CodecError> {
    for (key, value) in &element.attributes {
        // The caller has judged rdf:parseType; rdf:about names the resource described.
        if key.starts_with("xmlns") || key == "rdf:about" || key == "rdf:parseType" {
            continue;
        }
        if key.starts_with("rdf:") || key.starts_with("xml:") {
            return Err(parser.unsupported(
                element.at,
                format!("the attribute {key} on <{}>", element.name),
            ));
        }
        into.push(key.clone(), Value::String(value.clone()));
    }
    for child in elements(element) {
        if child.name.starts_with("rdf:") {
            return Err(parser.unsupported(
                child.at,
                format!("<{}> where a property was expected", child.name),
            ));
        }
        into.push(child.name.clone(), value(parser, child)?);
    }
    if !text(element).trim().is_empty() && elements(element).next().is_some() {
        return Err(parser.error(
            element.at,
            format!("text mixed with elements in <{}>", element.name),
        ));
    }
    Ok(())
}

/// The value of a property element or an array item.
fn value(parser: &Parser<'_>, element: &Element) -> Result<Value, CodecError> {
    let mut lang = None;
    let mut parse_type = None;
    let mut resource = None;
    let mut plain_attributes = false;
    for (key, value) in &element.attributes {
        match key.as_str() {
            "xml:lang" => lang = Some(value.clone()),
            "rdf:parseType" => parse_type = Some(value.as_str()),
            "rdf:resource" => resource = Some(value.clone()),
            k if k.starts_with("xmlns") => {}
            k if k.starts_with("rdf:") || k.starts_with("xml:") => {
                return Err(parser.unsupported(
                    element.at,
                    format!("the attribute {k} on <{}>", element.name),
                ))
            }
            _ => plain_attributes = true,
        }
    }
    let children: Vec<&Element> = elements(element).collect();
    let unsupported_lang = || {
        parser.unsupported(
            element.at,
            format!(
                "xml:lang on <{}>, which is not a simple value",
                element.name
            ),
        )
    };
    if let Some(resource) = resource {
        if !children.is_empty() || plain_attributes || lang.is_some() || parse_type.is_some() {
            return Err(parser.unsupported(element.at, "rdf:resource with other content"));
        }
        return Ok(object([("@resource", Value::String(resource))]));
    }
    match parse_type {
        Some("Resource") => {
            if lang.is_some() {
                return Err(unsupported_lang());
            }
            let mut structure = Map::new();
            fields(parser, element, &mut structure)?;
            return Ok(Value::Object(structure));
        }
        Some(other) => {
            return Err(parser.unsupported(element.at, format!("rdf:parseType=\"{other}\"")))
        }
        None => {}
    }
    if let [only] = children.as_slice() {
        let kind = match only.name.as_str() {
            "rdf:Bag" => Some("@bag"),
            "rdf:Seq" => Some("@seq"),
            "rdf:Alt" => Some("@alt"),
            _ => None,
        };
        if let Some(kind) = kind {
            if lang.is_some() {
                return Err(unsupported_lang());
            }
            if plain_attributes {
                return Err(parser.unsupported(element.at, "an array with property attributes"));
            }
            let mut items = Vec::new();
            for item in elements(only) {
                if item.name != "rdf:li" {
                    return Err(parser.error(
                        item.at,
                        format!("<{}> in <{}>: items are rdf:li", item.name, only.name),
                    ));
                }
                items.push(value(parser, item)?);
            }
            return Ok(object([(kind, Value::Array(items))]));
        }
        if only.name == "rdf:Description" {
            if lang.is_some() {
                return Err(unsupported_lang());
            }
            if plain_attributes {
                return Err(parser.unsupported(
                    element.at,
                    "a nested rdf:Description with property attributes beside it",
                ));
            }
            let mut structure = Map::new();
            fields(parser, only, &mut structure)?;
            return Ok(Value::Object(structure));
        }
    }
    if !children.is_empty() || plain_attributes {
        if lang.is_some() {
            return Err(unsupported_lang());
        }
        let mut structure = Map::new();
        fields(parser, element, &mut structure)?;
        return Ok(Value::Object(structure));
    }
    if let Some(at) = element.markup_at {
        return Err(parser.unsupported(
            at,
            format!(
                "a comment or processing instruction inside the value of <{}>: ExifTool reads it as part of the text, XML readers drop it",
                element.name
            ),
        ));
    }
    let value = Value::String(text(element));
    Ok(match lang {
        Some(lang) => object([("@lang", Value::String(lang)), ("@value", value)]),
        None => value,
    })
}

/// Whether XML 1.0 can carry a character at all.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A character for a message: `U+0000 (NUL)`.
fn described(c: char) -> String {
    match c {
        '\0' => "U+0000 (NUL)".into(),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (key, value) in entries {
        map.push(key.to_owned(), value);
    }
    Value::Object(map)
}

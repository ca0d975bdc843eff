//! The `xmp` validator, for documents read from XMP (others pass untouched): `xmp:Rating` is a
//! number from -1 (rejected) to 5; the dates photo software writes (`xmp:CreateDate`,
//! `xmp:ModifyDate`, `xmp:MetadataDate`, `photoshop:DateCreated`, `exif:DateTimeOriginal`,
//! `exif:DateTimeDigitized`) parse as XMP dates (ISO 8601 subsets from `YYYY` to
//! `YYYY-MM-DDThh:mm:ss.sTZD`); every language alternative gives each item an `xml:lang`, no
//! language twice, and `x-default`, when present, first.

use std::path::Path;

use sidecar_model::{Check, FileContext, Finding, Validator, View};

use crate::{ns, property};

pub struct XmpValidator;

impl Validator for XmpValidator {
    fn name(&self) -> &str {
        "xmp"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "XMP ratings within -1..5, dates that parse as XMP dates, well-formed language alternatives"
    }
    fn configure(&self, options: &serde_json::Value, _: &Path) -> Result<Box<dyn Check>, String> {
        match options.as_object() {
            Some(map) if map.is_empty() => Ok(Box::new(XmpValidator)),
            None if options.is_null() => Ok(Box::new(XmpValidator)),
            _ => Err(format!("`xmp` takes no options, got {options}")),
        }
    }
}

pub fn make() -> Box<dyn Validator> {
    Box::new(XmpValidator)
}

const DATES: &[(&str, &str)] = &[
    (ns::XMP, "CreateDate"),
    (ns::XMP, "ModifyDate"),
    (ns::XMP, "MetadataDate"),
    (ns::PHOTOSHOP, "DateCreated"),
    (ns::EXIF, "DateTimeOriginal"),
    (ns::EXIF, "DateTimeDigitized"),
];

impl Check for XmpValidator {
    fn check(&self, document: View<'_>, _: &FileContext<'_>, findings: &mut Vec<Finding>) {
        if document.get("@namespaces").is_none() {
            return;
        }
        if let Some(rating) = property(document, ns::XMP, "Rating") {
            let ok = rating
                .as_str()
                .and_then(|r| r.trim().parse::<f64>().ok())
                .is_some_and(|r| r == -1.0 || (0.0..=5.0).contains(&r));
            if !ok {
                findings.push(Finding::error(
                    format!(
                        "xmp:Rating must be -1 (rejected) or from 0 to 5, not {}",
                        show(rating)
                    ),
                    "/xmp:Rating".to_owned(),
                ));
            }
        }
        for (namespace, local) in DATES {
            if let Some(date) = property(document, namespace, local) {
                if !date.as_str().is_some_and(is_xmp_date) {
                    findings.push(Finding::error(
                        format!("{local} is not an XMP date (YYYY-MM-DDThh:mm:ss±hh:mm or a shorter form): {}", show(date)),
                        format!("/{local}"),
                    ));
                }
            }
        }
        if let Some(entries) = document.as_object() {
            for (key, value) in entries.iter() {
                if !key.starts_with('@') {
                    alternatives(value, &format!("/{key}"), findings);
                }
            }
        }
    }
}

fn show(value: View<'_>) -> String {
    match value.as_str() {
        Some(s) => format!("\"{s}\""),
        None => "a structure".into(),
    }
}

/// Checks every language alternative in a value.
fn alternatives(value: View<'_>, at: &str, findings: &mut Vec<Finding>) {
    let Some(entries) = value.as_object() else {
        return;
    };
    if let Some(items) = value.get("@alt").and_then(View::as_array) {
        let langs: Vec<Option<&str>> = items
            .iter()
            .map(|item| item.get("@lang").and_then(View::as_str))
            .collect();
        if langs.iter().any(Option::is_some) {
            let at = format!("{at}/@alt");
            for (i, lang) in langs.iter().enumerate() {
                match lang {
                    None => findings.push(Finding::error(
                        "an item of a language alternative without xml:lang".to_owned(),
                        format!("{at}/{i}"),
                    )),
                    Some(lang) if langs[..i].contains(&Some(lang)) => {
                        findings.push(Finding::error(
                            format!("the language {lang} appears twice"),
                            format!("{at}/{i}"),
                        ))
                    }
                    Some("x-default") if i > 0 => findings.push(Finding::error(
                        "x-default is not the first alternative".to_owned(),
                        format!("{at}/{i}"),
                    )),
                    _ => {}
                }
            }
        }
    }
    for (key, child) in entries.iter() {
        if let Some(items) = child.as_array() {
            for (i, item) in items.iter().enumerate() {
                alternatives(item, &format!("{at}/{key}/{i}"), findings);
            }
        } else {
            alternatives(child, &format!("{at}/{key}"), findings);
        }
    }
}

/// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, then optionally `Thh:mm`, `:ss`, `.s+`, and a time zone
/// (`Z` or `±hh:mm`), as the XMP specification allows (a time without a zone is local time).
/// The EXIF form `YYYY:MM:DD hh:mm:ss`, which darktable writes and ExifTool reads, is accepted
/// too.
pub fn is_xmp_date(text: &str) -> bool {
    let text = text.trim();
    let bytes = text.as_bytes();
    let exif_form = bytes.len() >= 19 && bytes[4] == b':' && bytes[7] == b':' && bytes[10] == b' ';
    if exif_form {
        let mut iso = bytes.to_vec();
        iso[4] = b'-';
        iso[7] = b'-';
        iso[10] = b'T';
        return std::str::from_utf8(&iso).is_ok_and(is_iso_date);
    }
    is_iso_date(text)
}

fn is_iso_date(text: &str) -> bool {
    fn digits(s: &[u8], n: usize) -> Option<(u32, &[u8])> {
        if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = s[..n]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        Some((value, &s[n..]))
    }
    fn parse(s: &[u8]) -> Option<()> {
        let (_, mut s) = digits(s, 4)?;
        if s.is_empty() {
            return Some(());
        }
        let (month, rest) = digits(s.strip_prefix(b"-")?, 2)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        s = rest;
        if s.is_empty() {
            return Some(());
        }
        let (day, rest) = digits(s.strip_prefix(b"-")?, 2)?;
        if !(1..=31).contains(&day) {
            return None;
        }
        s = rest;
        if s.is_empty() {
            return Some(());
        }
        let (hour, rest) = digits(s.strip_prefix(b"T")?, 2)?;
        let (minute, rest) = digits(rest.strip_prefix(b":")?, 2)?;
        if hour > 23 || minute > 59 {
            return None;
        }
        s = rest;
        if let Some(rest) = s.strip_prefix(b":") {
            let (second, rest) = digits(rest, 2)?;
            if second > 60 {
                return None;
            }
            s = rest;
            if let Some(rest) = s.strip_prefix(b".") {
                let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                s = &rest[n..];
            }
        }
        match s {
            b"" | b"Z" => Some(()),
            [b'+' | b'-', rest @ ..] => {
                let (h, rest) = digits(rest, 2)?;
                let (m, rest) = digits(rest.strip_prefix(b":")?, 2)?;
                (rest.is_empty() && h <= 23 && m <= 59).then_some(())
            }
            _ => None,
        }
    }
    parse(text.trim().as_bytes()).is_some()
}

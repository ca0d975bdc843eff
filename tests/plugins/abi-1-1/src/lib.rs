//! Test fixture: a plugin library as authors wrote them against plugin ABI 1.1, with the author
//! traits of that time (`SidecarCodec`, `SidecarValidator`, `SidecarSummary`), built against
//! that API's author half, frozen in `api/`: the tool's own API has moved on, and this library
//! shows that what was built against it still loads and works.
//!
//! Its codec `kv` (`.kv`) reads `key=value` lines into an object of strings; its validator
//! `kv-required` wants the keys named in option `keys`; its summary `kv` tallies keys
//! (`kv_keys`).

use sidecar_plugin_api::{
    export_plugin, Counter, Detection, Field, FieldKind, FileContext, Finding, Map,
    SidecarCodec, SidecarSummary, SidecarValidator, Value, View,
};

pub struct Kv;

impl SidecarCodec for Kv {
    fn name(&self) -> &str {
        "kv"
    }
    fn display_name(&self) -> &str {
        "Kv"
    }
    fn extensions(&self) -> &[&str] {
        &["kv"]
    }
    fn version(&self) -> &str {
        "1.1.0"
    }
    fn detect(&self, head: &[u8], _: u64) -> Detection {
        if head.starts_with(b"kv\n") {
            Detection::Certain
        } else {
            Detection::No
        }
    }
    fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
        let body = text.strip_prefix("kv\n").ok_or("no kv header")?;
        let mut map = Map::new();
        for (n, line) in body.lines().enumerate() {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: no `=`", n + 2))?;
            map.push(key.into(), Value::String(value.into()));
        }
        Ok(Value::Object(map))
    }
    fn encode(&self, value: &Value) -> Result<Vec<u8>, String> {
        let Value::Object(map) = value else {
            return Err("kv holds an object".into());
        };
        let mut out = String::from("kv\n");
        for (key, value) in map.iter() {
            let Value::String(text) = value else {
                return Err(format!("{key}: kv holds strings"));
            };
            if key.contains(['=', '\n']) || text.contains('\n') {
                return Err(format!("{key}: kv cannot hold it"));
            }
            out.push_str(&format!("{key}={text}\n"));
        }
        Ok(out.into_bytes())
    }
}

pub struct Required;

impl SidecarValidator for Required {
    type Options = Vec<String>;
    fn name(&self) -> &str {
        "kv-required"
    }
    fn version(&self) -> &str {
        "1.1.0"
    }
    fn description(&self) -> &str {
        "the keys named in option `keys` are present"
    }
    fn configure(&self, options: &serde_json::Value) -> Result<Vec<String>, String> {
        Ok(options
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }
    fn validate(
        &self,
        keys: &Vec<String>,
        document: View<'_>,
        _: &FileContext<'_>,
        findings: &mut Vec<Finding>,
    ) {
        for key in keys {
            if document.get(key).is_none() {
                findings.push(Finding::error(format!("no `{key}`"), ""));
            }
        }
    }
}

pub struct Keys;

impl SidecarSummary for Keys {
    fn name(&self) -> &str {
        "kv"
    }
    fn version(&self) -> &str {
        "1.1.0"
    }
    fn description(&self) -> &str {
        "files per key"
    }
    fn fields(&self) -> Vec<Field> {
        vec![Field {
            name: "kv_keys".into(),
            kind: FieldKind::Tally,
        }]
    }
    fn add(&self, document: View<'_>, counters: &mut [Counter]) {
        if let Some(object) = document.as_object() {
            for (key, _) in object.iter() {
                counters[0].add_to(key, 1);
            }
        }
    }
}

export_plugin! {
    codecs: [Kv],
    validators: [Required],
    summaries: [Keys],
}

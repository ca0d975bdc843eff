//! `json-schema`: each sidecar matches a JSON Schema. Option `schema`: the path of the schema
//! file (a relative path is resolved from the working directory on the command line, from the
//! pipeline file's directory in pipelines). The schema is read and compiled once, when the run starts.
//!
//! A `$ref` to another file is resolved against the schema file's own location (`defs.json`
//! beside it, or a `file://` URI); nothing is fetched from the network. Every file read this
//! way is part of what the results cache keys on, so a change to any of them is seen.
//!
//! Documents are handed to the schema as standard JSON: `NaN` and the infinities, which JSON
//! Schema cannot describe, are seen as `null`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use sidecar_model::value::View;
use sidecar_model::{Check, FileContext, Finding, Validator};

pub struct JsonSchema;

impl Validator for JsonSchema {
    fn name(&self) -> &str {
        "json-schema"
    }
    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }
    fn description(&self) -> &str {
        "each sidecar matches the JSON Schema file given as option `schema`"
    }
    fn configure(
        &self,
        options: &serde_json::Value,
        base_dir: &Path,
    ) -> Result<Box<dyn Check>, String> {
        let path = options
            .get("schema")
            .and_then(serde_json::Value::as_str)
            .ok_or("`json-schema` needs the option `schema`: the path of a JSON Schema file")?;
        if let Some(unknown) = options
            .as_object()
            .and_then(|m| m.keys().find(|k| *k != "schema"))
        {
            return Err(format!("`json-schema` has no option `{unknown}`"));
        }
        let file = base_dir.join(path);
        let text = read_schema(&file)?;
        let schema: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| format!("the schema {path} is not JSON: {e}"))?;
        let retrieved = Arc::new(Mutex::new(Vec::new()));
        let mut options = jsonschema::options().with_retriever(FileRetriever {
            retrieved: Arc::clone(&retrieved),
        });
        if let Ok(real) = std::fs::canonicalize(&file) {
            options = options.with_base_uri(file_uri(&real));
        }
        let validator = options
            .build(&schema)
            .map_err(|e| format!("the schema {path} is not a valid JSON Schema: {e}"))?;
        let retrieved = std::mem::take(&mut *retrieved.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(Box::new(SchemaCheck {
            validator,
            retrieved,
        }))
    }
}

pub fn make() -> Box<dyn Validator> {
    Box::new(JsonSchema)
}

/// Reads the files a schema refers to, and keeps each one's URI and a fingerprint of its bytes.
struct FileRetriever {
    retrieved: Arc<Mutex<Vec<(String, u64)>>>,
}

impl jsonschema::Retrieve for FileRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        use std::os::unix::ffi::OsStringExt;
        if uri.scheme().as_str() != "file" {
            return Err(format!("{uri}: only files are read for `$ref`, never the network").into());
        }
        let path = std::ffi::OsString::from_vec(uri.path().decode().to_bytes().into_owned());
        let bytes = read_schema(Path::new(&path))?;
        self.retrieved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((uri.to_string(), fingerprint(&bytes)));
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The largest schema file read.
const SCHEMA_LIMIT: u64 = 64 << 20;

/// A schema file's bytes: a regular file of at most 64 MiB, opened without blocking (a FIFO
/// named as a schema must not hang the run).
fn read_schema(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |why: String| format!("cannot read the schema {}: {why}", path.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        let kind = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(fail(format!(
            "not a regular file ({kind}); not opened for reading"
        )));
    }
    let mut bytes = Vec::new();
    file.take(SCHEMA_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > SCHEMA_LIMIT {
        return Err(fail(format!("over {SCHEMA_LIMIT} bytes")));
    }
    Ok(bytes)
}

/// A fingerprint of a file's bytes, for the results cache's key (stable for one build of the
/// tool, whose version is part of the key too).
fn fingerprint(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// `file://` and the path, its bytes outside the unreserved set percent-encoded.
fn file_uri(path: &Path) -> String {
    use percent_encoding::{percent_encode, NON_ALPHANUMERIC};
    use std::os::unix::ffi::OsStrExt;
    const KEPT: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    format!(
        "file://{}",
        percent_encode(path.as_os_str().as_bytes(), KEPT)
    )
}

struct SchemaCheck {
    validator: jsonschema::Validator,
    /// The files reached through `$ref`, with fingerprints of their bytes.
    retrieved: Vec<(String, u64)>,
}

impl Check for SchemaCheck {
    fn depends_on(&self) -> Option<String> {
        Some(
            self.retrieved
                .iter()
                .map(|(uri, hash)| format!(" {uri}={hash:016x}"))
                .collect(),
        )
    }

    fn check(&self, document: View<'_>, _: &FileContext<'_>, findings: &mut Vec<Finding>) {
        let instance = to_json(document);
        for error in self.validator.iter_errors(&instance) {
            findings.push(Finding::error(
                error.to_string(),
                error.instance_path().to_string(),
            ));
        }
    }
}

fn to_json(view: View<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match view {
        View::Null => J::Null,
        View::Bool(b) => J::Bool(b),
        View::Int(i) => J::from(i),
        View::UInt(u) => J::from(u),
        View::Float(x) => serde_json::Number::from_f64(x).map_or(J::Null, J::Number),
        View::Str(s) => J::String(s.to_owned()),
        View::Array(items) => J::Array(items.iter().map(to_json).collect()),
        View::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| (k.to_owned(), to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_model::{Map, Value};

    #[test]
    fn findings_name_the_place() {
        let dir = std::env::temp_dir().join(format!("schema-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let schema = dir.join("schema.json");
        std::fs::write(
            &schema,
            r#"{"type": "object", "required": ["sidecar_info"],
                "properties": {"score": {"type": "number", "maximum": 1}}}"#,
        )
        .unwrap();
        let check = JsonSchema
            .configure(&serde_json::json!({"schema": "schema.json"}), &dir)
            .unwrap();
        let doc: Map = [("score".to_owned(), Value::Float(2.5))]
            .into_iter()
            .collect();
        let doc = Value::Object(doc);
        let file = FileContext {
            path: Path::new("x.json"),
            has_image: true,
            format: "Json",
        };
        let mut findings = Vec::new();
        check.check(doc.view(), &file, &mut findings);
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert!(findings
            .iter()
            .any(|f| f.location.as_deref() == Some("/score")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ref_beside_the_schema_is_read_and_named_in_what_results_depend_on() {
        let dir = std::env::temp_dir().join(format!("schema ref %20 {}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("schema.json"),
            r#"{"type": "object", "properties": {"score": {"$ref": "defs%20%C3%A9.json"}}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("defs é.json"), r#"{"type": "string"}"#).unwrap();
        let check = JsonSchema
            .configure(&serde_json::json!({"schema": "schema.json"}), &dir)
            .unwrap();
        let doc: Map = [("score".to_owned(), Value::Float(2.5))]
            .into_iter()
            .collect();
        let file = FileContext {
            path: Path::new("x.json"),
            has_image: true,
            format: "Json",
        };
        let mut findings = Vec::new();
        check.check(Value::Object(doc).view(), &file, &mut findings);
        assert_eq!(
            findings.len(),
            1,
            "the referenced type applies: {findings:?}"
        );
        let depends = check.depends_on().unwrap();
        assert!(depends.contains("defs%20%C3%A9.json="), "{depends}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn options_are_checked() {
        let error = |options| {
            JsonSchema
                .configure(&options, Path::new("."))
                .err()
                .unwrap()
        };
        assert!(error(serde_json::json!({})).contains("needs the option"));
        assert!(
            error(serde_json::json!({"schema": "/no/such/schema.json"})).contains("cannot read")
        );
        assert!(error(serde_json::json!({"schema": "x", "strict": true}))
            .contains("no option `strict`"));
    }
}

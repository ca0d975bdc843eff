//! `save_operation` under a concurrent writer, made deterministic by the hook that runs just
//! before the new content is put in place: the writer's edit is never lost. One test per
//! binary, because the hook is an environment variable.

use image_sidecar::{Error, Value};

#[test]
fn a_writer_that_changes_the_file_meanwhile_wins_and_the_call_fails() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("IMG_0001.jpg");
    let sidecar = dir.path().join("IMG_0001.json");
    std::fs::write(&sidecar, br#"{"a": 1}"#).unwrap();
    let cases = [
        // Rewritten in place, as `json.dump(open(path, "w"))` does.
        format!("printf '{{\"edited\": 1}}' > '{}'", sidecar.display()),
        // Replaced by a rename, as safe writers do.
        format!(
            "printf '{{\"edited\": 2}}' > '{0}.new' && mv '{0}.new' '{0}'",
            sidecar.display()
        ),
        // Removed.
        format!("rm '{}'", sidecar.display()),
    ];
    for (i, hook) in cases.iter().enumerate() {
        std::env::set_var(sidecar_engine::fsio::REPLACE_HOOK_VAR, hook);
        let error = image_sidecar::save_operation(&image, "quality", &Value::Int(5), "json");
        std::env::remove_var(sidecar_engine::fsio::REPLACE_HOOK_VAR);
        let error = error.unwrap_err();
        assert!(matches!(error, Error::Changed { .. }), "case {i}: {error}");
        match i {
            2 => assert!(!sidecar.exists(), "case {i}: nothing put back in its place"),
            _ => assert_eq!(
                std::fs::read_to_string(&sidecar).unwrap(),
                format!("{{\"edited\": {}}}", i + 1),
                "case {i}: the writer's edit is what is there"
            ),
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.len() <= 1, "case {i}: nothing else left: {names:?}");
        std::fs::write(&sidecar, br#"{"a": 1}"#).unwrap();
    }
    let path = image_sidecar::save_operation(&image, "quality", &Value::Int(5), "json").unwrap();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "{\n  \"a\": 1,\n  \"quality\": 5\n}"
    );
}

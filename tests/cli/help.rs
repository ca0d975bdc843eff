//! The command line as a user meets it: every example in `--help` runs as written, `--version`
//! says what plugins it loads and where it was built from, names are suggested when mistyped,
//! completions load in bash and the manual page renders.

use std::path::Path;
use std::process::Command;

use crate::harness::{assert_exit, Tree, BIN};

const SUBCOMMANDS: &[&str] = &[
    "validate",
    "stats",
    "convert",
    "format-stats",
    "plugins",
    "run",
    "pipelines",
    "inspect",
    "completions",
    "man",
];

#[test]
fn every_example_in_help_runs_as_written() {
    let tree = Tree::examples();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut examples = 0;
    for subcommand in SUBCOMMANDS {
        let help = Command::new(BIN)
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8(help.stdout).unwrap();
        let lines: Vec<&str> = text
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{subcommand} --help has no examples"))
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("image-sidecar-rust "))
            .collect();
        assert!(lines.len() >= 2, "{subcommand}: {lines:?}");
        for line in lines {
            let out = Command::new("sh")
                .args(["-c", line])
                .current_dir(tree.path())
                .env("PATH", &path)
                .env("XDG_CACHE_HOME", tree.cache())
                .env_remove("IMAGE_SIDECAR_PLUGIN_PATH")
                .output()
                .unwrap();
            assert_exit(&out, 0, format_args!("`{line}`"));
            examples += 1;
        }
    }
    assert!(examples >= 20, "{examples} examples");
}

#[test]
fn version_names_the_plugin_abi_and_the_commit() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(&format!("image-sidecar-rust {}", env!("CARGO_PKG_VERSION"))));
    assert!(
        text.contains(&format!("plugin ABI {}", sidecar_plugin_api::ABI_VERSION)),
        "{text}"
    );
    assert!(text.contains("commit "), "{text}");
}

#[test]
fn mistyped_names_get_a_suggestion() {
    let tree = Tree::examples();
    for (args, suggestion) in [
        (
            &["validate", "--validators", "sportbal"][..],
            "did you mean `sportball`?",
        ),
        (&["run", "health-chek"][..], "did you mean `health-check`?"),
    ] {
        let out = tree.run(args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(suggestion), "{stderr}");
        assert_eq!(
            stderr.matches("health-check,").count() + stderr.matches("health-check)").count(),
            usize::from(args[0] == "run"),
            "each name once: {stderr}"
        );
    }
}

#[test]
fn plugin_dir_works_before_the_subcommand() {
    let tree = Tree::examples();
    let out = Command::new(BIN)
        .args(["--plugin-dir", "/no/such/dir", "validate", "--input"])
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir"));
}

#[test]
fn completions_load_in_bash_and_the_manual_renders() {
    let script = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(script.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("completion.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p image-sidecar-rust",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("image-sidecar-rust"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let man = Command::new(BIN).arg("man").output().unwrap();
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(page.contains(".TH image-sidecar-rust 1"), "{page}");
    for subcommand in SUBCOMMANDS {
        // roff writes hyphens as `\-`.
        let name = subcommand.replace('-', "\\-");
        assert!(page.contains(&name), "the manual mentions {subcommand}");
    }
}

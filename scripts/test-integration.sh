#!/usr/bin/env bash
# Runs every read-only command of BIN on DIR the way scripts do (stderr merged into stdout)
# and checks that each exits 0 and prints exactly one JSON document. Changes nothing in DIR.
set -euo pipefail
bin=${1:?usage: test-integration.sh BIN DIR}
dir=${2:?usage: test-integration.sh BIN DIR}
before=$(find "$dir" -type f -exec sha256sum {} + | sort)
status=0
check() {
    local out
    if ! out=$("$bin" "$@" --input "$dir" 2>&1); then
        echo "FAIL: $* exited non-zero" >&2; status=1; return
    fi
    if ! printf '%s' "$out" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then
        echo "FAIL: $* did not print one JSON document" >&2; status=1; return
    fi
    echo "ok: $*"
}
check validate
check validate --all-results --workers 1
check stats
check format-stats
check convert --format bin --dry-run
check convert --format rkyv --dry-run
check convert --format json --dry-run
after=$(find "$dir" -type f -exec sha256sum {} + | sort)
if [ "$before" != "$after" ]; then echo "FAIL: files changed" >&2; status=1; fi
exit $status

# Sourced by the benchmark scripts: installs hyperfine (Debian package) when it is missing.
if ! command -v hyperfine >/dev/null; then
    echo "bench: installing hyperfine (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
    else
        sudo apt-get install -y -qq hyperfine >/dev/null
    fi
fi

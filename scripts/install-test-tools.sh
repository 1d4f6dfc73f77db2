#!/usr/bin/env bash
# Installs what some tests need, once (idempotent; the tests call it):
#   python    a virtualenv in .build/test-tools/python with schemathesis and openapi-spec-validator
#   chromium  Debian's chromium (headless, for the dashboard test)
# Prints the path of what it installed: the virtualenv's bin directory, or the chromium binary.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
python)
    venv=.build/test-tools/python
    packages=("schemathesis==4.32.5" "openapi-spec-validator==0.7.2" "pyyaml==6.0.3")
    if [[ "$(cat "$venv/.complete" 2>/dev/null)" != "${packages[*]}" ]]; then
        rm -rf "$venv"
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" >&2
        echo "${packages[*]}" >"$venv/.complete"
    fi
    echo "$PWD/$venv/bin"
    ;;
chromium)
    if ! command -v chromium >/dev/null 2>&1; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "install-test-tools: chromium is missing and this user cannot apt-get install it" >&2
            exit 1
        fi
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
    fi
    command -v chromium
    ;;
*)
    echo "usage: scripts/install-test-tools.sh python|chromium" >&2
    exit 64
    ;;
esac

#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) and runs them.
#
#   scripts/fuzz.sh <target[,target...]|all> [runs] [--keep]
#
# target: wal, wire, binary, ws, http (or all). runs: executions per target (default 10,000,000;
# CI runs a short version). Each run starts from the corpus kept in Fuzz/corpus/<target> (seeded
# by the binary when empty); new inputs go to a scratch folder, or with --keep are merged into
# the kept corpus. A crash, sanitizer report, 5xx (http) or a hang over 10 s fails the run and
# leaves the input in Fuzz/findings/. docs/testing.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(wal wire binary ws http)
usage() {
    echo "usage: scripts/fuzz.sh <target[,target...]|all> [runs] [--keep]; targets: ${targets[*]}" >&2
    exit 64
}
target="${1:-}"
runs=10000000
keep=""
for argument in "${@:2}"; do
    case "$argument" in
    --keep) keep="--keep" ;;
    *[!0-9]* | "") usage ;;
    *) runs="$argument" ;;
    esac
done
if [[ "$target" == "all" ]]; then selected=("${targets[@]}"); else IFS=, read -ra selected <<<"$target"; fi
[[ ${#selected[@]} -gt 0 ]] || usage
for name in "${selected[@]}"; do
    [[ " ${targets[*]} " == *" $name "* ]] || usage
done
# A test that gives up on this script terminates it: take the fuzzer down with it (it runs in
# the background so that the trap runs at once).
trap 'pkill -TERM -P $$ 2>/dev/null; exit 143' TERM INT

flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)
# SwiftPM keeps its build plan for the path dependency (the Chorus package) and misses source
# files added to it since; a newer manifest makes it plan again (the compiling stays incremental).
touch Fuzz/Package.swift
swift build --package-path Fuzz "${flags[@]}" >&2
# A private copy: a rebuild while a long run goes on (the test suite's short run rebuilds) would
# replace the file its fork-mode jobs start from ("Text file busy", or jobs of a newer build).
built="$(swift build --package-path Fuzz "${flags[@]}" --show-bin-path)/chorus-fuzz"
binary="$(mktemp -d)/chorus-fuzz"
cp "$built" "$binary"
trap 'rm -rf "$(dirname "$binary")"' EXIT

mkdir -p Fuzz/findings
for name in "${selected[@]}"; do
    corpus="Fuzz/corpus/$name"
    if [[ ! -d "$corpus" || -z "$(ls -A "$corpus" 2>/dev/null)" ]]; then
        CHORUS_FUZZ_TARGET="$name" CHORUS_FUZZ_SEEDS="$corpus" "$binary" -runs=0 >/dev/null 2>&1 || true
    fi
    scratch="$(mktemp -d)"
    echo "== $name: $runs runs from $(ls "$corpus" | wc -l) corpus inputs" >&2
    start=$(date +%s)
    status=0
    # The node behind http keeps what inputs create, so nearly every input allocates for good:
    # libFuzzer's leak check after each such input (a full LeakSanitizer scan) would make it
    # ~15x slower. Its leaks are checked when a process exits instead. And it runs in fork mode:
    # each job (at most 300 s) is a process with a fresh node, so no node grows for the whole
    # run; CHORUS_FUZZ_JOBS runs that many jobs at once.
    mode=(-detect_leaks=1)
    [[ "$name" == http ]] && mode=(-detect_leaks=0 -fork="${CHORUS_FUZZ_JOBS:-1}")
    CHORUS_FUZZ_TARGET="$name" "$binary" "$scratch" "$corpus" -runs="$runs" -timeout=10 -rss_limit_mb=4096 -max_len=4096 "${mode[@]}" \
        -artifact_prefix="Fuzz/findings/$name-" -print_final_stats=1 >"$scratch.log" 2>&1 &
    wait $! || status=$?
    grep -E "Done [0-9]+ runs|fuzzed for [0-9]+ iterations|stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|chorus-fuzz:|Test unit written" "$scratch.log" >&2 || true
    [[ $status -eq 0 ]] || tail -40 "$scratch.log" >&2
    rm -f "$scratch.log"
    echo "== $name: exit $status after $(( $(date +%s) - start )) s" >&2
    if [[ "$keep" == "--keep" && $status -eq 0 ]]; then
        CHORUS_FUZZ_TARGET="$name" "$binary" -merge=1 "$corpus" "$scratch" >"$scratch.log" 2>&1 || { tail -20 "$scratch.log" >&2; exit 1; }
        rm -f "$scratch.log"
    fi
    rm -rf "$scratch"
    [[ $status -eq 0 ]] || exit "$status"
done

#!/usr/bin/env bash
# Runs every cluster fault scenario SOAK_RUNS times (default 20), each with a fresh seed,
# while a competing busy process keeps every core loaded; prints passes, failures and the
# failing seeds, keeps each failed run's whole output, and fails if any run failed.
set -euo pipefail

cd "$(dirname "$0")/.."

RUNS="${SOAK_RUNS:-20}"
# Which scenarios: a substring of their test paths (default: every cluster scenario).
FILTER="${SOAK_FILTER:-scenarios::cluster::}"
LOGS="${SOAK_LOGS:-target/soak-cluster}"
# Keep the output of passing runs too (their figures and any early-signal report), not only of failures.
KEEP="${SOAK_KEEP_LOGS:-0}"
# Busy processes competing for the cores (default: one per core).
LOAD="${SOAK_LOAD:-$(nproc)}"

log() { printf 'soak-cluster: %s\n' "$*" >&2; }

# The e2e binary, built once; the scenarios run it directly, one at a time.
bin=$(cargo test --test e2e --no-run 2>&1 | sed -n 's/.*Executable e2e\/main.rs (\(.*\))$/\1/p' | tail -n 1)
[ -x "$bin" ] || { log "could not build the e2e binary"; exit 1; }
mapfile -t scenarios < <("$bin" --list --format terse 2>/dev/null | sed -n 's/: test$//p' | grep -F -- "$FILTER")
[ "${#scenarios[@]}" -gt 0 ] || { log "no scenario matches '$FILTER'"; exit 1; }

load_pids=()
stop_load() { [ "${#load_pids[@]}" -eq 0 ] || kill "${load_pids[@]}" 2>/dev/null || true; }
trap stop_load EXIT
for _ in $(seq 1 "$LOAD"); do
    # A spinning shell: it wants a whole core, at the tests' own priority.
    bash -c 'while :; do :; done' &
    load_pids+=("$!")
done
log "$LOAD busy processes load the $(nproc) cores; ${#scenarios[@]} scenarios x $RUNS runs; logs of failures in $LOGS"

mkdir -p "$LOGS"
summary=()
failed_any=0
for scenario in "${scenarios[@]}"; do
    name="${scenario##*::}"
    passes=0 failures=0 failing_seeds=() longest=0
    for run in $(seq 1 "$RUNS"); do
        seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
        out="$LOGS/$name.$run.log"
        started=$(date +%s)
        if E2E_SEED="$seed" "$bin" --exact "$scenario" --nocapture >"$out" 2>&1; then
            passes=$((passes + 1))
            [ "$KEEP" = 1 ] || rm -f "$out"
            verdict=pass
        else
            failures=$((failures + 1))
            failing_seeds+=("$seed")
            verdict="FAIL (seed $seed, log $out)"
        fi
        took=$(($(date +%s) - started))
        [ "$took" -le "$longest" ] || longest=$took
        log "$name run $run/$RUNS: $verdict in ${took}s"
    done
    [ "$failures" -eq 0 ] || failed_any=1
    summary+=("| \`$name\` | $RUNS | $passes | $failures | ${longest} s | ${failing_seeds[*]:-none} |")
done

echo
echo "Cluster scenarios, $RUNS runs each, $LOAD busy processes on $(nproc) cores, nats-server $(nats-server --version 2>&1 | sed -n 1p):"
echo
echo "| scenario | runs | passed | failed | longest run | failing seeds |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
exit "$failed_any"

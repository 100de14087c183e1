#!/usr/bin/env bash
# Benchmark 3 of issue #11 (not a test): wall time of `terraform apply` of the full workflow
# example (examples/user-driven-entra-join) with 50 ms of latency on every Graph round trip,
# next to its critical-path bound: the longest chain of requests that must run one after the
# other, token included, x 50 ms (derivation in docs/performance.md, "Benchmark 3").
#   benches/workflow-latency.sh [--latency-ms N]
# Runs the apply twice on one emulator: first without latency (what Terraform and the provider
# cost by themselves on this machine), then, after resetting the emulator and the state, with
# the latency. Prints both wall times, the bound, the ratios wall/bound and
# (wall - wall without latency)/bound (target <= 1.2), the round trips, and the longest chain
# of round trips that actually ran one after the other, from the request log's timings
# (TIMELINE=1 also prints every request).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LATENCY=50
if [ "${1:-}" = "--latency-ms" ]; then LATENCY=$2; fi
# Requests that must run one after the other in an apply of the example (docs/performance.md):
# plan: token, data sources; apply: token, provisioning-client lookup, device group, app
# assignment, policy, device-group binding (concurrent with the policy's assignment).
BOUND_CHAIN=8
bench_build
bench_start_emulator
mkdir -p "$WORK/config"
cp -r "$ROOT/examples/user-driven-entra-join/." "$WORK/config/"
ln -s "$ROOT/examples/modules" "$WORK/modules"
(cd "$WORK/config" && terraform get -no-color >/dev/null)

bench_run terraform apply -auto-approve -input=false -no-color
base=$ELAPSED
bench_reset
rm -f "$WORK/config"/terraform.tfstate*
curl -sS --cacert "$CA" -X POST -H 'Content-Type: application/json' \
  -d "{\"latency_ms\": $LATENCY}" "$URL/_emulator/faults" >/dev/null
bench_run terraform apply -auto-approve -input=false -no-color
bound=$(python3 -c "print(f'{$BOUND_CHAIN * $LATENCY / 1000:.2f}')")
echo "latency: ${LATENCY} ms per round trip (token endpoint: none)  profile: $PROFILE  $(terraform version | head -1)"
echo "apply wall time: ${ELAPSED} s (without latency: ${base} s)   critical-path bound: ${BOUND_CHAIN} x ${LATENCY} ms = ${bound} s"
python3 -c "
w, b, bound = $ELAPSED, $base, $bound
print(f'ratio wall/bound: {w / bound:.2f}   ratio (wall - wall without latency)/bound: {(w - b) / bound:.2f} (target <= 1.2)')"
bench_log | python3 "$ROOT/benches/requestlog.py" summary "$LOG_BEFORE"
if [ -n "${TIMELINE:-}" ]; then bench_log | python3 "$ROOT/benches/requestlog.py" timeline "$LOG_BEFORE"; fi
echo "longest chain of round trips that ran one after the other (request log):"
bench_log | python3 "$ROOT/benches/requestlog.py" chain "$LOG_BEFORE"

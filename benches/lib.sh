# Shared by benches/*.sh (sourced, not run): builds the provider and the emulator, starts the
# emulator with the given flags and points terraform at the dev build through dev_overrides.
#
#   source benches/lib.sh
#   bench_build                     # cargo build (PROFILE=debug|release, default debug)
#   bench_start_emulator FLAGS...   # sets URL, CA, WORK, EMU_PID; exports the provider env
#   bench_log                       # the emulator's request log (JSON) on stdout
#   bench_reset                     # POST /_emulator/reset (fixtures back, log cleared)
#   bench_peak_rss_start / bench_peak_rss_stop   # peak VmHWM of provider processes (KiB)
# Temporary files live in $WORK, removed on exit unless KEEP=1.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PROFILE:-debug}

bench_build() {
  local rel=
  [ "$PROFILE" = release ] && rel=--release
  cargo build -q --locked $rel --manifest-path "$ROOT/Cargo.toml" \
    -p terraform-provider-autopilot --bin terraform-provider-autopilot
  cargo build -q --locked $rel --manifest-path "$ROOT/Cargo.toml" -p acceptance-tests --bin graph-emulator
}

bench_cleanup() {
  if [ -n "${RSS_PID:-}" ]; then kill "$RSS_PID" 2>/dev/null || true; fi
  if [ -n "${EMU_PID:-}" ]; then kill "$EMU_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept: $WORK"; else rm -rf "$WORK"; fi
}

bench_start_emulator() {
  WORK=$(mktemp -d)
  trap bench_cleanup EXIT
  "$TARGET/$PROFILE/graph-emulator" "$@" >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
  EMU_PID=$!
  for _ in $(seq 1 300); do grep -q '^GRAPH_EMULATOR_CA_FILE=' "$WORK/emulator.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^GRAPH_EMULATOR_URL=//p' "$WORK/emulator.out")
  CA=$(sed -n 's/^GRAPH_EMULATOR_CA_FILE=//p' "$WORK/emulator.out")
  [ -n "$URL" ] || { cat "$WORK/emulator.err" >&2; echo "the emulator did not start" >&2; exit 1; }
  printf 'provider_installation {\n  dev_overrides {\n    "autopilot/autopilot" = "%s"\n  }\n  direct {}\n}\n' \
    "$TARGET/$PROFILE" >"$WORK/terraformrc"
  export TF_CLI_CONFIG_FILE="$WORK/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_DATA_DIR="$WORK/.terraform"
  export ARM_TENANT_ID=00000000-0000-0000-0000-0000000000aa ARM_CLIENT_ID=00000000-0000-0000-0000-0000000000bb
  export ARM_CLIENT_SECRET=emulator-secret AUTOPILOT_GRAPH_ENDPOINT="$URL" AUTOPILOT_AUTHORITY_HOST="$URL"
  export AUTOPILOT_CA_CERT_FILE="$CA"
}

bench_log() { curl -sS --cacert "$CA" "$URL/_emulator/requests"; }
bench_reset() { curl -sS --cacert "$CA" -X POST "$URL/_emulator/reset" >/dev/null; }

# Samples VmHWM (peak resident set) of every terraform-provider-autopilot process every 50 ms
# while a command runs; bench_peak_rss_stop prints the largest value seen, in KiB, and
# bench_provider_cpu the CPU time those processes had used at their last sample.
bench_peak_rss_start() {
  : >"$WORK/rss"
  # Provider processes already running (other runs, leftovers) are not ours to measure.
  local before; before=" $( (pgrep -f "$TARGET/$PROFILE/terraform-provider-autopilot" || true) | tr '\n' ' ') "
  (
    while :; do
      for p in $(pgrep -f "$TARGET/$PROFILE/terraform-provider-autopilot" 2>/dev/null); do
        case "$before" in *" $p "*) continue ;; esac
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        cpu=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null)
        [ -n "$hwm" ] && echo "$p $hwm $cpu"
      done >>"$WORK/rss"
      sleep 0.05
    done
  ) &
  RSS_PID=$!
}
bench_peak_rss_stop() {
  kill "$RSS_PID" 2>/dev/null; wait "$RSS_PID" 2>/dev/null || true; RSS_PID=
  awk '$2 > m {m = $2} END {print m + 0}' "$WORK/rss"
}
# CPU seconds used by the provider processes seen by the last sampling (last sample per pid).
bench_provider_cpu() {
  awk '{t[$1] = $3} END {for (p in t) s += t[p]; printf "%.1f\n", s / 100}' "$WORK/rss"
}

# Runs a command in $WORK/config, timing it; prints nothing; sets ELAPSED (seconds) and
# LOG_BEFORE (request-log length before the command). Exits with the command's output on failure.
bench_run() {
  LOG_BEFORE=$(bench_log | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$WORK/config" && "$@" >"$WORK/last.out" 2>&1) || { cat "$WORK/last.out"; exit 1; }
  t1=$(date +%s.%N)
  ELAPSED=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
}

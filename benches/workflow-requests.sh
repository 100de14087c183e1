#!/usr/bin/env bash
# Graph requests of the full workflow example (issue #11, benchmark 2): apply, no-change plan and
# destroy of examples/user-driven-entra-join against the emulator, counted as HTTP round trips
# (request-log entries with batch_id null, token requests included) with a per-endpoint breakdown.
#   benches/workflow-requests.sh [--latency-ms N] [--detail]
# --detail lists every round trip in order with the requests inside each $batch.
# AUTOPILOT_READ_COALESCING=off in the environment measures the provider without read coalescing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
latency=0
detail=0
while [ $# -gt 0 ]; do
  case $1 in
    --latency-ms) latency=$2; shift 2 ;;
    --detail) detail=1; shift ;;
    *) echo "usage: $0 [--latency-ms N] [--detail]" >&2; exit 2 ;;
  esac
done
cargo build -q --locked -p terraform-provider-autopilot --bin terraform-provider-autopilot
cargo build -q --locked -p acceptance-tests --bin graph-emulator
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$target/debug/graph-emulator" --latency-ms "$latency" > "$work/emu.out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q '^GRAPH_EMULATOR_CA_FILE=' "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^GRAPH_EMULATOR_URL=//p' "$work/emu.out"); ca=$(sed -n 's/^GRAPH_EMULATOR_CA_FILE=//p' "$work/emu.out")
printf 'provider_installation {\n  dev_overrides {\n    "autopilot/autopilot" = "%s"\n  }\n  direct {}\n}\n' "$target/debug" > "$work/rc"
export TF_CLI_CONFIG_FILE="$work/rc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_DATA_DIR="$work/.terraform"
export ARM_TENANT_ID=00000000-0000-0000-0000-0000000000aa ARM_CLIENT_ID=00000000-0000-0000-0000-0000000000bb
export ARM_CLIENT_SECRET=emulator-secret AUTOPILOT_GRAPH_ENDPOINT="$url" AUTOPILOT_AUTHORITY_HOST="$url" AUTOPILOT_CA_CERT_FILE="$ca"
mkdir -p "$work/config"; cp -r examples/user-driven-entra-join/. "$work/config/"; ln -s "$root/examples/modules" "$work/modules"
cd "$work/config"
terraform get -no-color > /dev/null
count() {  # phase name, documented minimum, command...
  local phase=$1 minimum=$2; shift 2
  local before; before=$(curl -sS --cacert "$ca" "$url/_emulator/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  local t0; t0=$(date +%s.%N)
  "$@" > "$work/$phase.log" 2>&1 || { cat "$work/$phase.log"; exit 1; }
  local t1; t1=$(date +%s.%N)
  curl -sS --cacert "$ca" "$url/_emulator/requests" | python3 -c '
import json, re, sys, collections
log = json.load(sys.stdin)[int(sys.argv[1]):]
top = [r for r in log if r.get("batch_id") is None]
inner = [r for r in log if r.get("batch_id") is not None]
def key(r):
    p = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27,}", "{id}", r["path"].split("?")[0])
    return r["method"] + " " + p
minimum = int(sys.argv[6])
print(f"{sys.argv[2]:8} {len(top):4} HTTP round trips ({len(inner)} requests inside $batch), {float(sys.argv[4]) - float(sys.argv[3]):.1f} s wall; documented minimum {minimum}, ratio {len(top) / minimum:.2f}")
for k, n in sorted(collections.Counter(map(key, top)).items(), key=lambda kv: -kv[1]):
    print(f"           {n:3}  {k}")
if sys.argv[5] == "1":
    base = int(sys.argv[1])
    print("         in order (batched requests indented):")
    for i, r in enumerate(log):
        if r.get("batch_id") is None:
            print(f"           {key(r)}")
            for x in log:
                if x.get("batch_id") == base + i:
                    print(f"               {key(x)}")
' "$before" "$phase" "$t0" "$t1" "$detail" "$minimum"
}
# The documented minimum round trips per phase (docs/performance.md derives them).
count apply 18 terraform apply -auto-approve -input=false -no-color
count plan 6 terraform plan -input=false -no-color
count destroy 15 terraform destroy -auto-approve -input=false -no-color

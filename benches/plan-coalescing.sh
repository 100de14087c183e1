#!/usr/bin/env bash
# Read coalescing on a large no-change plan (issue #11, benchmark 4): 50 groups (two members
# each) and 200 app assignments (200 apps from a generated fixtures file, app i assigned to
# group i mod 50) against the emulator with 50 ms latency per round trip. Prints HTTP round
# trips (token included) and wall time of `terraform plan` with coalescing on and off
# (AUTOPILOT_READ_COALESCING), at -parallelism 10 (Terraform's default) and 20, and the ratio
# to one read per object.
#   benches/plan-coalescing.sh [--latency-ms N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
latency=50
if [ "${1:-}" = "--latency-ms" ]; then latency=$2; fi
apps=200
groups=50
cargo build -q --locked -p terraform-provider-autopilot --bin terraform-provider-autopilot
cargo build -q --locked -p acceptance-tests --bin graph-emulator
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$apps" > "$work/fixtures.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
def app(i):
    return {
        "@odata.type": "#microsoft.graph.winGetApp", "id": f"c3100000-0000-4000-8000-{i:012d}",
        "displayName": f"Bench app {i}", "description": "", "publisher": "Contoso", "largeIcon": None,
        "createdDateTime": "2024-05-02T09:00:00Z", "lastModifiedDateTime": "2024-05-02T09:00:00Z",
        "isFeatured": False, "privacyInformationUrl": None, "informationUrl": None, "owner": "",
        "developer": "", "notes": "", "uploadState": 1, "publishingState": "published", "isAssigned": False,
        "roleScopeTagIds": ["0"], "dependentAppCount": 0, "supersedingAppCount": 0, "supersededAppCount": 0,
        "manifestHash": "", "packageIdentifier": f"XPBENCH{i:05d}",
        "installExperience": {"@odata.type": "microsoft.graph.winGetAppInstallExperience", "runAsAccount": "system"},
    }
print(json.dumps({"mobileApps": [app(i) for i in range(1, n + 1)]}))
EOF

# Apply without latency (only the plans are measured), then add it.
"$target/debug/graph-emulator" --fixtures "$work/fixtures.json" > "$work/emu.out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q '^GRAPH_EMULATOR_CA_FILE=' "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^GRAPH_EMULATOR_URL=//p' "$work/emu.out"); ca=$(sed -n 's/^GRAPH_EMULATOR_CA_FILE=//p' "$work/emu.out")
printf 'provider_installation {\n  dev_overrides {\n    "autopilot/autopilot" = "%s"\n  }\n  direct {}\n}\n' "$target/debug" > "$work/rc"
export TF_CLI_CONFIG_FILE="$work/rc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_DATA_DIR="$work/.terraform"
export ARM_TENANT_ID=00000000-0000-0000-0000-0000000000aa ARM_CLIENT_ID=00000000-0000-0000-0000-0000000000bb
export ARM_CLIENT_SECRET=emulator-secret AUTOPILOT_GRAPH_ENDPOINT="$url" AUTOPILOT_AUTHORITY_HOST="$url" AUTOPILOT_CA_CERT_FILE="$ca"
mkdir -p "$work/config"
cat > "$work/config/main.tf" <<EOF
terraform {
  required_providers {
    autopilot = { source = "autopilot/autopilot" }
  }
}
provider "autopilot" {}
resource "autopilot_group" "g" {
  count        = $groups
  display_name = "Bench group \${count.index}"
  members      = ["b2000000-0000-4000-8000-000000000002", "b2000000-0000-4000-8000-000000000003"]
}
resource "autopilot_app_assignment" "a" {
  count  = $apps
  app_id = format("c3100000-0000-4000-8000-%012d", count.index + 1)
  intent = "required"
  target = {
    type     = "group"
    group_id = autopilot_group.g[count.index % $groups].id
  }
}
EOF
cd "$work/config"
AUTOPILOT_INTUNE_WRITE_LIMIT=0 terraform apply -auto-approve -input=false -no-color -parallelism=20 > "$work/apply.log" 2>&1 \
  || { tail -40 "$work/apply.log"; exit 1; }
curl -sS --cacert "$ca" -X POST -H 'Content-Type: application/json' -d "{\"latency_ms\": $latency}" "$url/_emulator/faults" > /dev/null

objects=$((apps + groups))
echo "no-change plan of $groups groups + $apps app assignments ($objects objects), emulator latency ${latency} ms per round trip"
echo "one read per object would be $((objects + 1)) round trips (token included)"
printf '%-12s %-12s %12s %16s %10s %12s\n' coalescing parallelism round-trips 'inside $batch' wall 'ratio/obj'
plan() {  # coalescing, parallelism
  local before; before=$(curl -sS --cacert "$ca" "$url/_emulator/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  local t0; t0=$(date +%s.%N)
  AUTOPILOT_READ_COALESCING=$1 terraform plan -input=false -no-color -detailed-exitcode -parallelism="$2" > "$work/plan.log" 2>&1 \
    || { cat "$work/plan.log"; exit 1; }
  local t1; t1=$(date +%s.%N)
  curl -sS --cacert "$ca" "$url/_emulator/requests" | python3 -c '
import json, sys
log = json.load(sys.stdin)[int(sys.argv[1]):]
top = sum(1 for r in log if r.get("batch_id") is None)
objects = int(sys.argv[6])
sizes = sorted(sum(1 for x in log if x.get("batch_id") == int(sys.argv[1]) + i) for i, r in enumerate(log) if r["path"].endswith("/$batch"))
spread = f"  $batch sizes {sizes[0]}..{sizes[-1]}, median {sizes[len(sizes) // 2]}" if sizes else ""
print(f"{sys.argv[2]:12} {sys.argv[3]:12} {top:12} {len(log) - top:16} {float(sys.argv[5]) - float(sys.argv[4]):9.1f}s {top / (objects + 1):12.3f}{spread}")
' "$before" "$1" "$2" "$t0" "$t1" "$objects"
}
plan on 10
plan off 10
plan on 20
plan off 20

#!/usr/bin/env bash
# Benchmark (not a test): Graph requests and wall time of `autopilot_corporate_identifiers`
# with 5,000 rows against the bundled Graph emulator, using the real terraform CLI.
#
#   benches/corporate_identifiers.sh [ROWS]     (default 5000; needs terraform on PATH)
#
# Prints, per step (apply of ROWS rows, no-change plan, apply of 10 removed + 10 added,
# destroy), the wall time and the number of HTTP round trips the emulator saw (token
# requests included; requests inside a $batch are counted separately). Client-side
# Intune write pacing is turned off (AUTOPILOT_INTUNE_WRITE_LIMIT=0) because the emulator
# does not limit writes; against Intune, deleting 5,000 rows takes ~17 minutes.
# STEPS=apply stops after the apply, STEPS=plan after the no-change plan (benchmark 6 of
# issue #11 records those two).
set -euo pipefail
ROWS=${ROWS:-${1:-5000}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PROFILE:-debug}
if [ "$PROFILE" = release ]; then REL=--release; else REL=; fi
cargo build -q $REL -p terraform-provider-autopilot --bin terraform-provider-autopilot --manifest-path "$ROOT/Cargo.toml"
cargo build -q $REL -p acceptance-tests --bin graph-emulator --manifest-path "$ROOT/Cargo.toml"

WORK=$(mktemp -d)
EMU_OUT="$WORK/emulator.out"
"$TARGET/$PROFILE/graph-emulator" >"$EMU_OUT" 2>"$WORK/emulator.err" &
EMU_PID=$!
if [ -n "${KEEP:-}" ]; then
  trap 'echo "kept: $WORK (emulator pid $EMU_PID still running)"' EXIT
else
  trap 'kill "$EMU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
fi
for _ in $(seq 1 100); do grep -q GRAPH_EMULATOR_CA_FILE "$EMU_OUT" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^GRAPH_EMULATOR_URL=//p' "$EMU_OUT")
CA=$(sed -n 's/^GRAPH_EMULATOR_CA_FILE=//p' "$EMU_OUT")

cat >"$WORK/terraformrc" <<RC
provider_installation {
  dev_overrides { "autopilot/autopilot" = "$TARGET/$PROFILE" }
  direct {}
}
RC
cat >"$WORK/main.tf" <<'TF'
terraform {
  required_providers {
    autopilot = { source = "autopilot/autopilot" }
  }
}
provider "autopilot" {}
resource "autopilot_corporate_identifiers" "all" {
  devices = provider::autopilot::parse_corporate_identifiers(file("${path.module}/devices.csv"))
}
TF
csv() { # csv FIRST LAST(exclusive)
  { echo "Manufacturer,Model,Serial Number"; seq -f "Lenovo,ThinkPad T14 Gen 4,SN%06g" "$1" "$(($2 - 1))"; } >"$WORK/devices.csv"
}
export TF_CLI_CONFIG_FILE="$WORK/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export ARM_TENANT_ID=00000000-0000-0000-0000-0000000000aa ARM_CLIENT_ID=00000000-0000-0000-0000-0000000000bb
export ARM_CLIENT_SECRET=emulator-secret AUTOPILOT_GRAPH_ENDPOINT="$URL" AUTOPILOT_AUTHORITY_HOST="$URL"
export AUTOPILOT_CA_CERT_FILE="$CA" AUTOPILOT_INTUNE_WRITE_LIMIT=0

log_counts() { # prints "top-level inner" request counts since the last reset of the log
  curl -s --cacert "$CA" "$URL/_emulator/requests" |
    python3 -c 'import json,sys; l=json.load(sys.stdin); print(sum(r["batch_id"] is None for r in l), sum(r["batch_id"] is not None for r in l))'
}
step() { # step NAME COMMAND...
  local before after start end
  before=$(log_counts)
  start=$(date +%s.%N)
  (cd "$WORK" && "${@:2}" >"$WORK/last.out" 2>&1) || { cat "$WORK/last.out"; exit 1; }
  end=$(date +%s.%N)
  after=$(log_counts)
  read -r b_top b_in <<<"$before"; read -r a_top a_in <<<"$after"
  printf '%-34s %8.1f s  %5d round trips  %6d in $batch\n' "$1" "$(echo "$end - $start" | bc)" $((a_top - b_top)) $((a_in - b_in))
}

STEPS=${STEPS:-all}
echo "rows: $ROWS  profile: $PROFILE  terraform: $(terraform version | head -1)"
csv 0 "$ROWS"
step "apply ($ROWS rows)" terraform apply -auto-approve -input=false -no-color
[ "$STEPS" = apply ] && exit 0
step "plan (no change)" terraform plan -input=false -no-color -detailed-exitcode
[ "$STEPS" = plan ] && exit 0
csv 10 $((ROWS + 10))
step "apply (10 removed, 10 added)" terraform apply -auto-approve -input=false -no-color
step "destroy ($ROWS rows, unpaced)" terraform destroy -auto-approve -input=false -no-color

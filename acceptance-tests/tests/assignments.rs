#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test
//! `autopilot_app_assignment`, `autopilot_script_assignment`, `autopilot_powershell_script` and
//! the data sources `autopilot_mobile_app` / `autopilot_powershell_script` with the real terraform
//! CLI against the Graph emulator (issue #7): two fixture apps (Win32 + WinGet) and a script made
//! by the configuration, all assigned to a device group, next to an assignment somebody else made
//! on the same app — which must survive every step (anchors.md, user pain 7).

use acceptance_tests::harness::{Emulator, PROVIDER_HEADER, Workspace};
use acceptance_tests::steps::{Import, Lifecycle};
use acceptance_tests::target::Target;
use reqwest::Method;
use serde_json::{Value, json};

const WIN32_APP: &str = "c3000000-0000-4000-8000-000000000001";
const WINGET_APP: &str = "c3000000-0000-4000-8000-000000000002";
const WIN32_APP_2: &str = "c3000000-0000-4000-8000-000000000003";
const FILTER: &str = "f1000000-0000-4000-8000-0000000000f1";
const DEVICE_GROUP: &str = "c1000000-0000-4000-8000-0000000000d1";
const OTHER_GROUP: &str = "c1000000-0000-4000-8000-0000000000d2";

async fn emulator() -> Emulator {
    Emulator::start(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator starts")
}

async fn seed_group(emu: &Emulator, id: &str, name: &str) {
    emu.control_send(
        Method::POST,
        "/_emulator/objects/groups",
        Some(json!({"id": id, "displayName": name, "mailNickname": name.replace(' ', "-"), "mailEnabled": false,
                    "securityEnabled": true, "groupTypes": []})),
    )
    .await
    .expect("seed group");
}

/// The stored object `id` of `collection` (with its embedded `assignments`).
async fn object(emu: &Emulator, collection: &str, id: &str) -> Value {
    emu.objects(collection)
        .await
        .expect("objects")
        .into_iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("{collection}/{id} exists"))
}

async fn assignments(emu: &Emulator, collection: &str, id: &str) -> Vec<Value> {
    object(emu, collection, id).await["assignments"].as_array().cloned().unwrap_or_default()
}

/// A portal-style change of an app's or script's assignment list.
async fn set_assignments(emu: &Emulator, collection: &str, id: &str, items: Vec<Value>) {
    emu.control_send(
        Method::PATCH,
        &format!("/_emulator/objects/{collection}/{id}"),
        Some(json!({"assignments": items})),
    )
    .await
    .expect("portal change");
}

fn group_ids(items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> =
        items.iter().map(|a| a["target"]["groupId"].as_str().unwrap_or_default().to_owned()).collect();
    ids.sort();
    ids
}

/// Graph requests other than token requests.
async fn graph_requests(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .await
        .expect("request log")
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or_default().contains("/oauth2/"))
        .collect()
}

/// The configuration: `win32_notifications` for the Win32 assignment, `with_winget` whether the
/// WinGet assignment is declared, `extra` appended (import blocks).
fn config(win32_notifications: &str, with_winget: bool, extra: &str) -> String {
    let winget = if with_winget {
        format!(
            r#"
resource "autopilot_app_assignment" "winget" {{
  app_id = data.autopilot_mobile_app.vscode.id
  intent = "required"
  target = {{
    type     = "group"
    group_id = "{DEVICE_GROUP}"
  }}
  winget_settings = {{
    notifications = "hide_all"
  }}
}}
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"{PROVIDER_HEADER}
data "autopilot_mobile_app" "vscode" {{
  display_name = "Microsoft Visual Studio Code"
}}

data "autopilot_mobile_app" "sevenzip" {{
  id = "{WIN32_APP}"
}}

resource "autopilot_powershell_script" "tz" {{
  display_name   = "Set time zone (terraform)"
  file_name      = "set-timezone.ps1"
  script_content = "Set-TimeZone -Id 'W. Europe Standard Time'\n"
}}

resource "autopilot_app_assignment" "win32" {{
  app_id = data.autopilot_mobile_app.sevenzip.id
  intent = "required"
  target = {{
    type     = "group"
    group_id = "{DEVICE_GROUP}"
  }}
  win32_settings = {{
    notifications = "{win32_notifications}"
    restart = {{
      grace_period_minutes = 1440
      countdown_minutes    = 15
    }}
  }}
}}
{winget}
# No settings (the Win32 defaults), with an assignment filter.
resource "autopilot_app_assignment" "bootstrap" {{
  app_id = "{WIN32_APP_2}"
  intent = "required"
  target = {{
    type        = "group"
    group_id    = "{DEVICE_GROUP}"
    filter_id   = "{FILTER}"
    filter_mode = "include"
  }}
}}

data "autopilot_powershell_script" "rename" {{
  display_name = "Rename computer"
}}

output "rename_script_file" {{
  value = data.autopilot_powershell_script.rename.file_name
}}

resource "autopilot_script_assignment" "tz" {{
  script_id = autopilot_powershell_script.tz.id
  target = {{
    type     = "group"
    group_id = "{DEVICE_GROUP}"
  }}
}}
{extra}"#
    )
}

async fn apply(ws: &Workspace) {
    ws.must(&["apply", "-auto-approve", "-input=false", "-parallelism=10"]).await.expect("apply");
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_keeps_foreign_assignments() {
    let target =
        Target::emulator_only(env!("CARGO_BIN_EXE_graph-emulator").as_ref(), &[]).await.expect("emulator");
    let emu = target.emulator().expect("emulator mode");
    seed_group(emu, DEVICE_GROUP, "DPP devices").await;
    seed_group(emu, OTHER_GROUP, "Pilot devices").await;
    // Somebody assigned the Win32 app to another group in the portal.
    let foreign = json!({
        "@odata.type": "#microsoft.graph.mobileAppAssignment", "id": format!("{OTHER_GROUP}_0_0"),
        "intent": "available", "source": "direct", "sourceId": null,
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": OTHER_GROUP,
                   "deviceAndAppManagementAssignmentFilterId": null,
                   "deviceAndAppManagementAssignmentFilterType": "none"},
        "settings": {"@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings", "notifications": "showAll",
                     "deliveryOptimizationPriority": "notConfigured", "installTimeSettings": null,
                     "restartSettings": null, "autoUpdateSettings": null}
    });
    set_assignments(emu, "mobileApps", WIN32_APP, vec![foreign.clone()]).await;

    let mut lc = Lifecycle::new(&target);
    lc.apply_args(&["-parallelism=10"]);
    for address in [
        "autopilot_app_assignment.win32",
        "autopilot_app_assignment.winget",
        "autopilot_app_assignment.bootstrap",
        "autopilot_script_assignment.tz",
        "autopilot_powershell_script.tz",
    ] {
        lc.track(address, None);
    }
    lc.apply(&config("hide_all", true, "")).await;

    let win32 = assignments(emu, "mobileApps", WIN32_APP).await;
    assert_eq!(group_ids(&win32), vec![DEVICE_GROUP.to_owned(), OTHER_GROUP.to_owned()], "{win32:#?}");
    let ours = win32.iter().find(|a| a["target"]["groupId"] == DEVICE_GROUP).unwrap();
    assert_eq!(ours["id"], format!("{DEVICE_GROUP}_1_0"));
    assert_eq!(ours["settings"]["notifications"], "hideAll");
    assert_eq!(ours["settings"]["restartSettings"]["gracePeriodInMinutes"], 1440);
    let winget = assignments(emu, "mobileApps", WINGET_APP).await;
    assert_eq!(group_ids(&winget), vec![DEVICE_GROUP.to_owned()]);
    assert_eq!(winget[0]["settings"]["@odata.type"], "#microsoft.graph.winGetAppAssignmentSettings");
    let script_id = lc.id_of("autopilot_powershell_script.tz").await;
    let script = assignments(emu, "deviceManagementScripts", &script_id).await;
    assert_eq!(group_ids(&script), vec![DEVICE_GROUP.to_owned()]);
    assert_eq!(object(emu, "mobileApps", WINGET_APP).await["assignments"].as_array().map(Vec::len), Some(1));
    let app_type = lc.values("autopilot_app_assignment.winget").await["app_type"].clone();
    assert_eq!(app_type, "winGetApp");

    let bootstrap = assignments(emu, "mobileApps", WIN32_APP_2).await;
    assert_eq!(bootstrap.len(), 1);
    assert_eq!(bootstrap[0]["settings"]["@odata.type"], "#microsoft.graph.win32LobAppAssignmentSettings");
    assert_eq!(bootstrap[0]["target"]["deviceAndAppManagementAssignmentFilterId"], FILTER);
    assert_eq!(bootstrap[0]["target"]["deviceAndAppManagementAssignmentFilterType"], "include");
    let output = lc.workspace().must(&["output", "-raw", "rename_script_file"]).await.expect("output");
    assert_eq!(output.stdout.trim(), "Rename-Computer.ps1");

    // A portal change of our settings is detected and corrected in place.
    let mut changed = assignments(emu, "mobileApps", WIN32_APP).await;
    for a in &mut changed {
        if a["target"]["groupId"] == DEVICE_GROUP {
            a["settings"]["notifications"] = json!("showAll");
        }
    }
    lc.drift(
        set_assignments(emu, "mobileApps", WIN32_APP, changed),
        &["autopilot_app_assignment.win32 will be updated in-place"],
    )
    .await;
    let win32 = assignments(emu, "mobileApps", WIN32_APP).await;
    let ours = win32.iter().find(|a| a["target"]["groupId"] == DEVICE_GROUP).unwrap();
    assert_eq!(ours["settings"]["notifications"], "hideAll");

    // Update one assignment's settings in place.
    lc.update(&config("show_reboot", true, "")).await;
    let win32 = assignments(emu, "mobileApps", WIN32_APP).await;
    let ours = win32.iter().find(|a| a["target"]["groupId"] == DEVICE_GROUP).unwrap();
    assert_eq!(ours["settings"]["notifications"], "showReboot");
    assert!(win32.contains(&foreign), "the foreign assignment changed: {win32:#?}");

    // Import: each assignment forgotten and imported again (import block, parent/assignment
    // ids), every attribute as applied, empty plan.
    let script_assignment_id = lc.id_of("autopilot_script_assignment.tz").await;
    lc.import_and_compare(
        Import::block("autopilot_app_assignment.win32").id(format!("{WIN32_APP}/{DEVICE_GROUP}_1_0")),
    )
    .await;
    lc.import_and_compare(
        Import::block("autopilot_script_assignment.tz").id(format!("{script_id}/{script_assignment_id}")),
    )
    .await;
    assert_eq!(assignments(emu, "mobileApps", WIN32_APP).await.len(), 2);

    // Drift: the WinGet assignment and the script assignment are removed in the portal, where
    // somebody also assigns the script to another group.
    let foreign_script = json!({"@odata.type": "#microsoft.graph.deviceManagementScriptAssignment",
        "id": "e7000000-0000-4000-8000-000000000001",
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": OTHER_GROUP,
                   "deviceAndAppManagementAssignmentFilterId": null,
                   "deviceAndAppManagementAssignmentFilterType": "none"}});
    lc.drift(
        async {
            set_assignments(emu, "mobileApps", WINGET_APP, vec![]).await;
            set_assignments(emu, "deviceManagementScripts", &script_id, vec![foreign_script.clone()]).await;
        },
        &[
            "autopilot_app_assignment.winget will be created",
            "autopilot_script_assignment.tz will be created",
        ],
    )
    .await;
    assert_eq!(group_ids(&assignments(emu, "mobileApps", WINGET_APP).await), vec![DEVICE_GROUP.to_owned()]);
    let script = assignments(emu, "deviceManagementScripts", &script_id).await;
    assert_eq!(group_ids(&script), vec![DEVICE_GROUP.to_owned(), OTHER_GROUP.to_owned()]);
    // The provider echoes other entries without their read-only id, so only the target must survive.
    assert!(
        script.iter().any(|a| a["target"] == foreign_script["target"]),
        "the foreign script assignment changed: {script:#?}"
    );

    // Destroy one assignment: the others, and the foreign one, stay.
    lc.apply(&config("show_reboot", false, "")).await;
    assert!(assignments(emu, "mobileApps", WINGET_APP).await.is_empty());
    assert_eq!(assignments(emu, "mobileApps", WIN32_APP).await.len(), 2);

    lc.destroy().await;
    assert_eq!(
        assignments(emu, "mobileApps", WIN32_APP).await,
        vec![foreign],
        "only the foreign assignment is left"
    );
    assert!(
        emu.objects("deviceManagementScripts").await.unwrap().iter().all(|s| s["id"] != script_id.as_str()),
        "the script is deleted"
    );
    // No replace-all write ever touched an app.
    let requests = graph_requests(emu).await;
    assert!(
        !requests.iter().any(|r| r["path"].as_str().unwrap_or_default().contains("/mobileApps/")
            && r["path"].as_str().unwrap_or_default().ends_with("/assign")),
        "an app's assignments were replaced wholesale"
    );
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_fails_at_plan_on_the_attribute() {
    let emu = emulator().await;
    let ws = Workspace::new(&emu).expect("workspace");
    let assignment = |app: &str, intent: &str, group: &str, settings: &str| {
        format!(
            "{PROVIDER_HEADER}\nresource \"autopilot_app_assignment\" \"this\" {{\n  app_id = \"{app}\"\n  intent = \"{intent}\"\n  \
             target = {{\n    type     = \"group\"\n    group_id = \"{group}\"\n  }}\n{settings}}}\n"
        )
    };
    let win32_settings = "  win32_settings = {\n    notifications = \"hide_all\"\n  }\n";
    let cases = [
        (assignment(WIN32_APP, "sometimes", DEVICE_GROUP, ""), "intent", "sometimes", false),
        (assignment(WIN32_APP, "required", "not-a-guid", ""), "group_id", "not-a-guid", false),
        (assignment(WINGET_APP, "required", DEVICE_GROUP, win32_settings), "win32_settings", "win", true),
    ];
    for (body, attribute, needle, looks_up_app) in cases {
        ws.write("main.tf", &body).expect("write");
        let before = graph_requests(&emu).await.len();
        let out = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = out.combined();
        assert!(!out.success(), "plan of {body} succeeded");
        assert!(text.contains(needle), "diagnostic lacks {needle:?}:\n{text}");
        assert!(text.contains(attribute), "diagnostic does not name {attribute}:\n{text}");
        let sent: Vec<Value> = graph_requests(&emu).await.into_iter().skip(before).collect();
        if looks_up_app {
            // The one plan-time lookup: the app's type decides which settings fit.
            assert!(
                sent.iter().all(|r| r["method"] == "GET"
                    && r["path"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with(&format!("/deviceAppManagement/mobileApps/{WINGET_APP}"))),
                "unexpected requests: {sent:#?}"
            );
            assert!(!sent.is_empty(), "the app type was not looked up");
        } else {
            assert!(sent.is_empty(), "static errors must not reach Graph: {sent:#?}");
        }
    }
    assert!(assignments(&emu, "mobileApps", WINGET_APP).await.is_empty());
    emu.stop().await;
}

/// Throttling, lost responses (committed writes whose answer never arrives), one-item pages and
/// replication lag at once: one apply still converges, nothing is duplicated, the foreign
/// assignment survives.
#[tokio::test(flavor = "multi_thread")]
async fn converges_under_faults() {
    let emu = Emulator::start(
        env!("CARGO_BIN_EXE_graph-emulator").as_ref(),
        &[
            "--throttle-percent",
            "10",
            "--lost-response-percent",
            "15",
            "--consistency-lag-ms",
            "1000",
            "--page-size",
            "1",
            "--seed",
            "7",
        ],
    )
    .await
    .expect("emulator starts");
    seed_group(&emu, DEVICE_GROUP, "DPP devices").await;
    seed_group(&emu, OTHER_GROUP, "Pilot devices").await;
    let foreign = json!({
        "@odata.type": "#microsoft.graph.mobileAppAssignment", "id": format!("{OTHER_GROUP}_0_0"),
        "intent": "available", "source": "direct", "sourceId": null,
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": OTHER_GROUP,
                   "deviceAndAppManagementAssignmentFilterId": null,
                   "deviceAndAppManagementAssignmentFilterType": "none"},
        "settings": null
    });
    set_assignments(&emu, "mobileApps", WIN32_APP, vec![foreign.clone()]).await;

    let ws = Workspace::new(&emu).expect("workspace");
    ws.write("main.tf", &config("hide_all", true, "")).expect("write");
    apply(&ws).await;
    assert_eq!(
        group_ids(&assignments(&emu, "mobileApps", WIN32_APP).await),
        vec![DEVICE_GROUP.to_owned(), OTHER_GROUP.to_owned()]
    );
    assert_eq!(assignments(&emu, "mobileApps", WINGET_APP).await.len(), 1);
    let scripts = emu.objects("deviceManagementScripts").await.unwrap();
    let ours: Vec<&Value> =
        scripts.iter().filter(|s| s["displayName"] == "Set time zone (terraform)").collect();
    assert_eq!(ours.len(), 1, "the script was created more than once");
    assert_eq!(ours[0]["assignments"].as_array().map(Vec::len), Some(1));
    let (empty, out) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after a faulty apply not empty:\n{}", out.stdout);

    ws.destroy().await.expect("destroy");
    assert_eq!(assignments(&emu, "mobileApps", WIN32_APP).await, vec![foreign]);
    assert!(assignments(&emu, "mobileApps", WINGET_APP).await.is_empty());
    emu.stop().await;
}

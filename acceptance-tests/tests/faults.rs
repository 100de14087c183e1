#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: a panic is a failed test

//! Reliability of the whole workflow (examples/user-driven-entra-join) with the real terraform
//! CLI against the emulator's fault switches (issue #12):
//!
//! 1. random throttling, 503s, latency jitter and consistency lag: converges, state ⇔ emulator;
//! 2. the write-failure sweep: each Graph write of a clean apply fails in turn, before commit
//!    (503) or after it (response lost); the next apply converges with no orphan or duplicate.
//!    CI runs the first write of every distinct call (label); `AUTOPILOT_FULL_SWEEP=1` fails
//!    every write index in turn;
//! 3. SIGINT in the middle of a slow apply: terraform stops promptly, state ⇔ emulator, the next
//!    apply converges.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use acceptance_tests::harness::{Emulator, Workspace};
use acceptance_tests::reconcile::state_vs_emulator;
use acceptance_tests::workflow::{self, Write, apply_until_success, reset, set_faults, writes};
use serde_json::{Value, json};

fn emulator_binary() -> &'static std::path::Path {
    env!("CARGO_BIN_EXE_graph-emulator").as_ref()
}

async fn assert_converged(ws: &Workspace, emu: &Emulator, baseline: &Value, context: &str) {
    let (empty, plan) = ws.plan_is_empty().await.expect("plan runs");
    assert!(empty, "{context}: plan is not empty:\n{}", plan.stdout);
    let problems = state_vs_emulator(ws, emu, baseline).await.expect("state and objects");
    assert!(problems.is_empty(), "{context}: state ⇔ emulator:\n{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn workflow_converges_under_random_faults() {
    let emu = Emulator::start(
        emulator_binary(),
        &[
            "--throttle-percent",
            "30",
            "--error-percent",
            "5",
            "--consistency-lag-ms",
            "3000",
            "--latency-ms",
            "10",
            "--latency-jitter-ms",
            "90",
            "--seed",
            "12",
        ],
    )
    .await
    .expect("emulator");
    let baseline = emu.control_get("/_emulator/objects").await.expect("objects");
    let ws = workflow::workspace(&emu).await.expect("workspace");
    let started = Instant::now();
    let applies = apply_until_success(&ws, 4).await.expect("the workflow converges within 4 applies");
    let log = emu.requests().await.expect("log");
    let throttled = log.iter().filter(|e| e["status"] == 429).count();
    let unavailable = log.iter().filter(|e| e["status"] == 503).count();
    println!(
        "random faults: {applies} apply run(s), {:.1} s, {} requests ({throttled} × 429, {unavailable} × 503)",
        started.elapsed().as_secs_f64(),
        log.len()
    );
    // 30% of ~100 requests: never zero. (5% 503s could be zero in a rare ordering: not asserted.)
    assert!(throttled > 0, "the faults were injected");
    settle(3000).await;
    assert_converged(&ws, &emu, &baseline, "random faults").await;
    emu.stop().await;
}

/// One case of the sweep: which write fails, and how.
#[derive(Clone, Debug)]
struct Case {
    /// `fail_write_at` (1-based).
    at: u32,
    /// `fail_write_match` (None: every write counts).
    label: Option<String>,
}

/// What one case did.
struct Outcome {
    faulted: String,
    first_apply_ok: bool,
    problem: Option<String>,
}

/// Waits until every write is visible to every read (the emulator's consistency lag has
/// passed), so a plan judges the provider, not a replica that has not caught up yet.
async fn settle(lag_ms: u64) {
    if lag_ms > 0 {
        tokio::time::sleep(Duration::from_millis(lag_ms + 500)).await;
    }
}

/// One case: fail one write of `phase`'s command (the destroy case first applies cleanly), run it
/// again without the fault, and check it converged (apply: empty plan, state ⇔ emulator;
/// destroy: nothing the configuration made is left, fixtures untouched).
async fn run_case(emu: &Emulator, case: &Case, mode: &str, lag_ms: u64, phase: Phase) -> Outcome {
    let baseline = reset(emu).await.expect("reset");
    let ws = workspace_for(emu, phase).await;
    let command = match phase {
        Phase::Apply => "apply",
        Phase::Destroy => {
            // The destroy sweep starts from a clean apply; only the destroy's writes count.
            ws.apply().await.expect("clean apply");
            settle(lag_ms).await;
            "destroy"
        }
    };
    let before = emu.requests().await.expect("log").len();
    set_faults(
        emu,
        json!({"fail_write_at": case.at, "fail_write_mode": mode, "fail_write_match": case.label}),
    )
    .await
    .expect("faults");
    let first = ws.terraform(&[command, "-auto-approve", "-input=false"]).await.expect("terraform runs");
    settle(lag_ms).await;
    set_faults(emu, json!({"fail_write_at": null, "fail_write_match": null})).await.expect("faults off");
    let log = emu.requests().await.expect("log");
    let all: Vec<Write> = writes(&log).into_iter().filter(|w| w.log_index >= before).collect();
    if counted(case, &all) < case.at as usize {
        // Runs differ in their number of writes (re-reads and re-sends under lag): nothing to fail.
        return Outcome {
            faulted: format!("(skipped: this {command} made {} such writes)", counted(case, &all)),
            first_apply_ok: first.success(),
            problem: None,
        };
    }
    let hit: Vec<Write> = all.into_iter().filter(|w| w.status == 503 || w.response_dropped).collect();
    let faulted = match hit.as_slice() {
        [one] => one.label(),
        [] => "(no write faulted)".to_owned(),
        many => format!(
            "{} writes faulted: {}",
            many.len(),
            many.iter().map(Write::label).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut problem = None;
    if hit.len() != 1 {
        problem = Some(format!("expected exactly one faulted write, got: {faulted}"));
    }
    let second = ws.terraform(&[command, "-auto-approve", "-input=false"]).await.expect("terraform runs");
    settle(lag_ms).await;
    if problem.is_none() && !second.success() {
        problem = Some(format!("the {command} after the fault failed:\n{}", second.combined()));
    }
    if problem.is_none() {
        problem = match phase {
            Phase::Apply => converged(&ws, emu, &baseline).await,
            Phase::Destroy => {
                let left = destroyed_cleanly(&ws, emu, &baseline).await;
                (!left.is_empty()).then(|| left.join("\n"))
            }
        };
    }
    if problem.is_some() && !first.success() {
        let text = first.combined();
        let tail: Vec<&str> = text.lines().filter(|l| l.contains("Error")).take(4).collect();
        problem = problem.map(|p| format!("{p}\n(first {command}: {})", tail.join(" | ")));
    }
    Outcome { faulted, first_apply_ok: first.success(), problem }
}

/// After an apply: an empty plan, and state ⇔ emulator; the first problem found, if any.
async fn converged(ws: &Workspace, emu: &Emulator, baseline: &Value) -> Option<String> {
    match ws.plan_is_empty().await {
        Ok((true, _)) => {}
        Ok((false, plan)) => return Some(format!("plan not empty:\n{}", plan.stdout)),
        Err(e) => return Some(e.to_string()),
    }
    match state_vs_emulator(ws, emu, baseline).await {
        Ok(p) if p.is_empty() => None,
        Ok(p) => Some(p.join("\n")),
        Err(e) => Some(e.to_string()),
    }
}

/// Which terraform command the sweep fails the writes of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Apply,
    Destroy,
}

/// The workflow's workspace; for the destroy sweep its join settings are restored on destroy,
/// so that write is swept too and the tenant setting must end as it began.
async fn workspace_for(emu: &Emulator, phase: Phase) -> Workspace {
    let ws = workflow::workspace(emu).await.expect("workspace");
    if phase == Phase::Destroy {
        let main = ws.path().join("main.tf");
        let text = std::fs::read_to_string(&main).expect("main.tf");
        let anchor = "  corporate_identifiers_csv";
        assert!(text.contains(anchor), "the example's module block changed: {text}");
        let text = text.replace(anchor, &format!("  join_settings_on_destroy = \"restore\"\n{anchor}"));
        std::fs::write(&main, text).expect("main.tf");
    }
    ws
}

/// The writes of a clean apply (or of a clean destroy after it) of the workflow, after a reset.
async fn clean_writes(emu: &Emulator, phase: Phase) -> Vec<Write> {
    reset(emu).await.expect("reset");
    let ws = workspace_for(emu, phase).await;
    ws.apply().await.expect("clean apply");
    if phase == Phase::Apply {
        return writes(&emu.requests().await.expect("log"));
    }
    let before = emu.requests().await.expect("log").len();
    ws.destroy().await.expect("clean destroy");
    writes(&emu.requests().await.expect("log")).into_iter().filter(|w| w.log_index >= before).collect()
}

/// CI: the first occurrence of every distinct write (so every resource type's create or
/// delete); `AUTOPILOT_FULL_SWEEP=1`: every occurrence of every distinct write. Cases name a
/// call and its occurrence, not a position in the run: concurrent resources send their writes
/// in a different order in each run.
fn cases(clean: &[Write]) -> Vec<Case> {
    let full = std::env::var("AUTOPILOT_FULL_SWEEP").is_ok_and(|v| v == "1");
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for w in clean {
        *counts.entry(w.label()).or_default() += 1;
    }
    counts
        .into_iter()
        .flat_map(|(label, n)| {
            (1..=if full { n } else { 1 }).map(move |at| Case { at, label: Some(label.clone()) })
        })
        .collect()
}

/// How many of `writes` the case's `fail_write_match` counts.
fn counted(case: &Case, writes: &[Write]) -> usize {
    writes.iter().filter(|w| case.label.as_ref().is_none_or(|l| w.label() == *l)).count()
}

/// Consistency lag of the sweep's emulator (`AUTOPILOT_SWEEP_LAG_MS` overrides it).
const SWEEP_LAG_MS: u64 = 1000;

async fn sweep(mode: &str, phase: Phase) {
    // Lag makes the adoption of a lost create wait for the object to become visible, as on Graph.
    let lag: u64 =
        std::env::var("AUTOPILOT_SWEEP_LAG_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(SWEEP_LAG_MS);
    let emu = Emulator::start(emulator_binary(), &["--seed", "3", "--consistency-lag-ms", &lag.to_string()])
        .await
        .expect("emulator");
    let clean = clean_writes(&emu, phase).await;
    let cases = cases(&clean);
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for case in &cases {
        let out = run_case(&emu, case, mode, lag, phase).await;
        table.push(format!(
            "  {:>2} {:<78} first {} {}{}",
            case.at,
            out.faulted,
            if phase == Phase::Apply { "apply  " } else { "destroy" },
            if out.first_apply_ok { "ok    " } else { "failed" },
            if out.problem.is_some() { "  ✗" } else { "  ✓" }
        ));
        if let Some(p) = out.problem {
            failures.push(format!("case {case:?} ({}): {p}", out.faulted));
        }
    }
    println!(
        "write sweep ({phase:?}, {mode}, lag {lag} ms): {} writes in a clean {}, {} cases, {:.0} s\n{}",
        clean.len(),
        if phase == Phase::Apply { "apply" } else { "destroy" },
        cases.len(),
        started.elapsed().as_secs_f64(),
        table.join("\n")
    );
    emu.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Everything the configuration made is gone from the emulator and the state, and every
/// object that was there before (the fixtures: users, apps, scripts, out-of-band assignments,
/// the tenant's join settings) is as it was; the differences, as sentences.
async fn destroyed_cleanly(ws: &Workspace, emu: &Emulator, baseline: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match ws.state().await {
        Ok(state) => {
            let mut left = Vec::new();
            collect_addresses(&state["values"]["root_module"], &mut left);
            if !left.is_empty() {
                problems.push(format!("state not empty: {}", left.join(", ")));
            }
        }
        Err(e) => problems.push(format!("show -json: {e}")),
    }
    let objects = emu.control_get("/_emulator/objects").await.expect("objects");
    for (kind, keys) in acceptance_tests::reconcile::from_emulator(&objects, baseline) {
        for k in keys {
            problems.push(format!("orphan {kind} {} ({}) left after destroy", k.id, k.natural));
        }
    }
    problems.extend(foreign_changes(baseline, &objects));
    problems
}

fn collect_addresses(module: &Value, out: &mut Vec<String>) {
    for r in module["resources"].as_array().into_iter().flatten() {
        if r["mode"] == "managed" {
            out.push(r["address"].as_str().unwrap_or_default().to_owned());
        }
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        collect_addresses(child, out);
    }
}

/// Objects of `baseline` that are changed or gone in `objects` (collections of objects with
/// an `id` are compared object by object, anything else as a whole).
fn foreign_changes(baseline: &Value, objects: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (collection, before) in baseline.as_object().into_iter().flatten() {
        let after = &objects[collection];
        match before.as_array() {
            Some(items) if items.iter().all(|o| o["id"].is_string()) => {
                for old in items {
                    let id = &old["id"];
                    match after.as_array().into_iter().flatten().find(|o| o["id"] == *id) {
                        None => problems.push(format!("foreign {collection} {id} was deleted")),
                        Some(new) if without_empty_assignments(new) != without_empty_assignments(old) => {
                            problems.push(format!(
                                "foreign {collection} {id} changed:\n  before {old}\n  after  {new}"
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
            _ if after != before => {
                problems.push(format!("foreign {collection} changed:\n  before {before}\n  after  {after}"));
            }
            _ => {}
        }
    }
    problems
}

/// `object` without an empty `assignments` list (the emulator keeps one once an assignment was
/// made and removed; Graph lists assignments separately).
fn without_empty_assignments(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut()
        && map.get("assignments").and_then(Value::as_array).is_some_and(Vec::is_empty)
    {
        map.remove("assignments");
    }
    object
}

#[tokio::test(flavor = "multi_thread")]
async fn each_write_failing_before_commit_is_survived() {
    sweep("error", Phase::Apply).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_write_whose_response_is_lost_is_survived() {
    sweep("lost_response", Phase::Apply).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_destroy_write_failing_before_commit_is_survived() {
    sweep("error", Phase::Destroy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_destroy_write_whose_response_is_lost_is_survived() {
    sweep("lost_response", Phase::Destroy).await;
}

/// What an interrupted apply did.
struct Interrupted {
    /// SIGINT → terraform exit.
    stopped: Duration,
    success: bool,
    exit_code: Option<i32>,
    text: String,
}

/// Runs `terraform apply`, sends it SIGINT as soon as `ready` holds for the emulator's request
/// log (polled every 50 ms, at most 120 s), and waits for terraform to exit.
async fn apply_interrupted_when(
    ws: &Workspace,
    emu: &Emulator,
    ready: impl Fn(&[Value]) -> bool,
) -> Interrupted {
    let child = ws
        .command(&["apply", "-auto-approve", "-input=false"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("terraform starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let log = emu.requests().await.expect("log");
        if ready(&log) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the moment to interrupt never came in 120 s ({} requests)",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().expect("pid").to_string();
    let interrupted = Instant::now();
    let kill = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
    assert!(kill.success());
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("terraform exits within 120 s of SIGINT")
        .expect("terraform output");
    let stopped = interrupted.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!(
        "SIGINT → terraform exit: {:.2} s (exit code {:?})\n{}",
        stopped.as_secs_f64(),
        out.status.code(),
        text.lines()
            .filter(|l| l.contains("Interrupt")
                || l.contains("Error")
                || l.contains("Still creating")
                || l.contains("Creation complete"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Interrupted { stopped, success: out.status.success(), exit_code: out.status.code(), text }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_the_apply_and_the_next_apply_converges() {
    let emu =
        Emulator::start(emulator_binary(), &["--latency-ms", "400", "--seed", "5"]).await.expect("emulator");
    let baseline = emu.control_get("/_emulator/objects").await.expect("objects");
    let ws = workflow::workspace(&emu).await.expect("workspace");
    // Mid-way: some objects written, more to come.
    let run = apply_interrupted_when(&ws, &emu, |log| writes(log).len() >= 3).await;
    let text = &run.text;
    assert!(run.stopped < Duration::from_secs(30), "terraform took {:?} to stop:\n{text}", run.stopped);
    assert!(text.contains("Interrupt received"), "terraform saw the interrupt (graceful stop):\n{text}");
    assert!(!run.success, "the apply was interrupted, so it must not report success:\n{text}");
    // Requests still in flight complete in the emulator (as on Graph): wait for them.
    settle(400).await;
    let problems = state_vs_emulator(&ws, &emu, &baseline).await.expect("state and objects");
    assert!(problems.is_empty(), "after SIGINT: state ⇔ emulator:\n{}\n\n{text}", problems.join("\n"));

    set_faults(&emu, json!({"latency_ms": 0})).await.expect("faults");
    ws.apply().await.expect("the next apply succeeds");
    assert_converged(&ws, &emu, &baseline, "after SIGINT").await;
    emu.stop().await;
}

/// SIGINT while a create is on its way (the group POSTs, each held 1.5 s by the emulator's
/// latency): Graph completes the create although the provider was told to stop, so the
/// provider must learn the new object's id rather than orphan it.
#[tokio::test(flavor = "multi_thread")]
async fn sigint_during_a_create_post_leaves_no_orphan() {
    let emu =
        Emulator::start(emulator_binary(), &["--latency-ms", "1500", "--seed", "6"]).await.expect("emulator");
    let baseline = emu.control_get("/_emulator/objects").await.expect("objects");
    let ws = workflow::workspace(&emu).await.expect("workspace");
    let in_flight = |log: &[Value]| {
        log.iter().any(|e| e["method"] == "POST" && e["path"] == "/v1.0/groups" && e["status"] == 0)
    };
    let run = apply_interrupted_when(&ws, &emu, in_flight).await;
    let text = &run.text;
    assert!(text.contains("Interrupt received"), "terraform saw the interrupt:\n{text}");
    assert!(!run.success, "the apply was interrupted (exit code {:?}):\n{text}", run.exit_code);
    settle(1500).await;
    let log = emu.requests().await.expect("log");
    let posts: Vec<&Value> =
        log.iter().filter(|e| e["method"] == "POST" && e["path"] == "/v1.0/groups").collect();
    assert!(
        !posts.is_empty() && posts.iter().all(|e| e["status"] == 201),
        "the group POSTs completed: {posts:?}"
    );
    let problems = state_vs_emulator(&ws, &emu, &baseline).await.expect("state and objects");
    assert!(problems.is_empty(), "after SIGINT: state ⇔ emulator:\n{}\n\n{text}", problems.join("\n"));

    set_faults(&emu, json!({"latency_ms": 0})).await.expect("faults");
    ws.apply().await.expect("the next apply succeeds");
    assert_converged(&ws, &emu, &baseline, "after SIGINT during a create").await;
    emu.stop().await;
}

/// A collection page whose `@odata.nextLink` points at another host (or another port of this
/// one: another origin) must not be followed with the access token: the refresh fails with the
/// provider's refusal, and a listener standing in for the other origin sees no connection.
#[tokio::test(flavor = "multi_thread")]
async fn next_link_to_another_host_fails_the_refresh_and_sends_nothing_there() {
    let emu = Emulator::start(emulator_binary(), &["--page-size", "1"]).await.expect("emulator");
    let ws = Workspace::new(&emu).expect("workspace");
    ws.write(
        "main.tf",
        &format!(
            r#"{}
resource "autopilot_corporate_identifiers" "paged" {{
  devices = [
    {{ manufacturer = "Contoso", model = "Laptop 7", serial_number = "PAGE0001", description = null }},
    {{ manufacturer = "Contoso", model = "Laptop 7", serial_number = "PAGE0002", description = null }},
    {{ manufacturer = "Contoso", model = "Laptop 7", serial_number = "PAGE0003", description = null }},
  ]
}}
"#,
            acceptance_tests::harness::PROVIDER_HEADER
        ),
    )
    .expect("main.tf");
    ws.apply().await.expect("apply with pages of one");
    let (empty, plan) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "plan after apply:\n{}", plan.stdout);
    let log = emu.requests().await.expect("log");
    let followed = log.iter().filter(|e| e["path"].as_str().is_some_and(|p| p.contains("skiptoken"))).count();
    assert!(followed >= 2, "the refresh paged (next links followed {followed} times)");

    // The other origin: a listener on another loopback port that counts connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let other = listener.local_addr().expect("addr");
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = connections.clone();
    let accept = tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    for host in ["evil.example".to_owned(), other.to_string()] {
        set_faults(&emu, json!({"next_link_host": host})).await.expect("faults");
        let plan = ws.terraform(&["plan", "-input=false"]).await.expect("plan runs");
        let text = plan.combined();
        assert!(!plan.success(), "the refresh must fail when a next link leaves {host}:\n{text}");
        assert!(
            text.contains("refused to follow a URL outside the configured Graph endpoint")
                && text.contains(&format!("https://{host}"))
                && text.contains(&emu.url),
            "the error names the refusal, the foreign origin and the trusted one:\n{text}"
        );
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the other origin");
    accept.abort();
    set_faults(&emu, json!({"next_link_host": null})).await.expect("faults");
    let (empty, plan) = ws.plan_is_empty().await.expect("plan");
    assert!(empty, "with honest next links the plan is empty again:\n{}", plan.stdout);
    emu.stop().await;
}

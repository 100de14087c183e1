//! The emulator on a real TLS listener (127.0.0.1 only), with reqwest trusting only the
//! generated CA; and the `graph-emulator` binary's start-up contract.

use std::sync::Arc;
use std::time::Duration;

use acceptance_tests::emulator::faults::FaultSettings;
use acceptance_tests::emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, EmulatorConfig, EmulatorOptions, start,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

fn client(ca_pem: &str, http1_only: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap_or_else(|e| panic!("CA PEM: {e}"))).unwrap_or_else(|e| panic!("CA: {e}"));
    }
    let mut tls =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
    tls.alpn_protocols =
        if http1_only { vec![b"http/1.1".to_vec()] } else { vec![b"h2".to_vec(), b"http/1.1".to_vec()] };
    let mut builder =
        reqwest::Client::builder().tls_backend_preconfigured(tls).timeout(Duration::from_secs(10)).no_proxy();
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap_or_else(|e| panic!("client: {e}"))
}

async fn token(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .post(format!("{url}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}&scope={}",
            url::form_urlencoded::byte_serialize(format!("{url}/.default").as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("token request: {e}"));
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap_or_default();
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

fn group_body(name: &str) -> Value {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": "n", "securityEnabled": true})
}

#[tokio::test]
async fn serves_https_over_http1_and_http2_and_drops_lost_responses() {
    let running = start(EmulatorOptions::default()).await.unwrap_or_else(|e| panic!("start: {e}"));
    assert!(running.url.starts_with("https://127.0.0.1:"));
    let file_pem = std::fs::read_to_string(&running.ca_pem_path).unwrap_or_default();
    assert_eq!(file_pem, running.ca_pem);

    for http1_only in [true, false] {
        let client = client(&running.ca_pem, http1_only);
        let token = token(&client, &running.url).await;
        let response = client
            .post(format!("{}/v1.0/groups", running.url))
            .bearer_auth(&token)
            .json(&group_body("over tls"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create: {e}"));
        assert_eq!(response.status(), 201);
        let expected = if http1_only { reqwest::Version::HTTP_11 } else { reqwest::Version::HTTP_2 };
        assert_eq!(response.version(), expected);
        assert!(response.headers().contains_key("request-id"));
    }

    // Lost response: the client sees a transport error, yet the group is stored.
    running.state.set_faults(FaultSettings { lost_response_percent: 100, ..FaultSettings::default() });
    let client = client(&running.ca_pem, true);
    let token = token(&client, &running.url).await;
    let result = client
        .post(format!("{}/v1.0/groups", running.url))
        .bearer_auth(&token)
        .json(&group_body("lost"))
        .send()
        .await;
    assert!(result.is_err(), "the response must be lost: {result:?}");
    running.state.set_faults(FaultSettings::default());
    let names = group_names(&client, &running.url).await;
    assert!(names.iter().any(|n| n == "lost"), "{names:?}");
    running.stop().await;
}

async fn group_names(client: &reqwest::Client, url: &str) -> Vec<String> {
    let objects: Value = client
        .get(format!("{url}/_emulator/objects"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    objects["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["displayName"].as_str().map(str::to_owned))
        .collect()
}

/// Graph completes a request whose client hung up; so must the emulator, or a cancelled
/// create would never show up as an orphan in the acceptance tests.
#[tokio::test]
async fn a_create_whose_client_hangs_up_is_still_committed() {
    let running = start(EmulatorOptions::default()).await.unwrap_or_else(|e| panic!("start: {e}"));
    running.state.set_faults(FaultSettings { latency_ms: 1500, ..FaultSettings::default() });
    for http1_only in [true, false] {
        let client = client(&running.ca_pem, http1_only);
        let token = token(&client, &running.url).await;
        let name = format!("abandoned over http1={http1_only}");
        let result = client
            .post(format!("{}/v1.0/groups", running.url))
            .bearer_auth(&token)
            .timeout(Duration::from_millis(300))
            .json(&group_body(&name))
            .send()
            .await;
        assert!(result.is_err(), "the client gave up before the answer: {result:?}");
        assert!(!group_names(&client, &running.url).await.contains(&name), "not committed yet (latency)");
        // The handler finishes after its latency although nobody waits for the answer.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !group_names(&client, &running.url).await.contains(&name) {
            assert!(std::time::Instant::now() < deadline, "{name:?} was never committed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    running.stop().await;
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let options = EmulatorOptions {
        listen: "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}")),
        config: EmulatorConfig::default(),
    };
    assert!(start(options).await.is_err());
}

#[tokio::test]
async fn binary_prints_url_and_ca_file_then_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_graph-emulator"))
        .args(["--seed", "3", "--page-size", "2"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut read_line = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for the emulator"))
            .unwrap_or_default()
            .unwrap_or_default()
    };
    let url_line = read_line().await;
    let ca_line = read_line().await;
    let url = url_line.strip_prefix("GRAPH_EMULATOR_URL=").unwrap_or_else(|| panic!("{url_line}")).to_owned();
    let ca_file =
        ca_line.strip_prefix("GRAPH_EMULATOR_CA_FILE=").unwrap_or_else(|| panic!("{ca_line}")).to_owned();
    let ca_pem = std::fs::read_to_string(&ca_file).unwrap_or_else(|e| panic!("{ca_file}: {e}"));
    let client = client(&ca_pem, false);
    let token = token(&client, &url).await;
    let users: Value = client
        .get(format!("{url}/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(users["value"].as_array().map(Vec::len), Some(2), "--page-size applies");
    assert!(users["@odata.nextLink"].as_str().unwrap_or_default().starts_with(&format!("{url}/v1.0/users?")));
    let _ = child.kill().await;
}
